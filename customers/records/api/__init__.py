"""The Customer resource, in the seed API's exact shape: read, list, create, update, lifecycle."""
