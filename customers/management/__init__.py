"""The customers app's commands: housekeeping, purge_deleted_customers."""
