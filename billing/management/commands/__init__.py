"""billing's management commands."""
