"""Quota: spending a customer's limits, one request at a time, and the hot path's SQL that does
it in one statement."""
