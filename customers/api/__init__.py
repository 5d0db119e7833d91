"""What the customers app's API resources share: schemas, input types, idempotent replays.
The resources live in their domain's package; ``customers.api_router`` mounts them."""
