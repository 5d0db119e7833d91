"""The Customer resource: the seed's endpoints in its exact shape (read, update, delete), and
beyond it listing, creation and the lifecycle."""
