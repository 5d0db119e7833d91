"""Template tags and filters of the customers app."""
