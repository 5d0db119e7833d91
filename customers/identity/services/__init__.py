"""Identity's services, one module per concern; each write is audited in its transaction."""
