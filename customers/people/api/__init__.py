"""People in the API: a customer's users and invitations."""
