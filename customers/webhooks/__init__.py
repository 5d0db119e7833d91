"""Lifecycle webhooks: the event catalogue (registry), the outbox written with each change
(outbox), signing secrets (secrets), the destination check (safety) and the background
delivery with retries (delivery)."""
