"""People: a customer's users (its seats) and the invitations that activate them."""
