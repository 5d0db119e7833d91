"""Identity in the API: token authentication and the organization resource."""
