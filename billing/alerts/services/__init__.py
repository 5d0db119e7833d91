"""Alerts' services: thresholds and their crossings (alerts), and the letters (notify)."""
