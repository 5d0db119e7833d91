"""Log streams: the organization's audit trail exported to its SIEM, in order, at least once."""
