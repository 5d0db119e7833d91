"""What happened: the audit trail, its exports and streams, and the activity customers report."""
