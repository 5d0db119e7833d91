"""Limits' services: effective limits and usage, changes to them, and usage forecasts."""
