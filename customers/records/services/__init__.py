"""The customer record's services: shared guards (common), edits (records), lifecycle."""
