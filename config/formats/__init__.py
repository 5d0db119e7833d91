"""Our date and time formats, for the parts of Django that format on their own (the admin)."""
