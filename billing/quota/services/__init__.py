"""Quota's services: spend a limit (quota) and its one-statement SQL (hot_path)."""
