"""The audit app's commands."""
