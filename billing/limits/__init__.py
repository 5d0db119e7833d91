"""Limits: plans and their defaults, per-customer overrides, pooled caps, the usage counters,
effective limits, forecasts of usage, and the pages and API that set them."""
