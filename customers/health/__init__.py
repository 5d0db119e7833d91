"""Health: the pure rules that score a connection and a customer, and the service that keeps the
scores current as usage, limits and outcomes change."""
