"""Lifecycle webhooks: the event catalogue (registry), the endpoints, events and deliveries
(models), the outbox written with each change (outbox), the services and pages that manage
endpoints and replays (services, views, forms, api), signing and sending (sending) and the
background delivery with retries (delivery). Destination safety and the transport are the
platform's (customers/platform/outbound/)."""
