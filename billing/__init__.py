"""Limits and usage: plans, overrides, quota, usage alerts."""
