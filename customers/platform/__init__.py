"""What every app uses and that knows no domain: tenant scoping, the refusal hierarchy, the
request's declared shape, rendering of partials, keyset pages, client addresses and
allow-lists, idempotency keys, throttles, scrubbing secrets out of text, and outbound HTTP
(one destination rule and one transport for webhooks and log streams). Nothing here imports a
service, a view or another app; the few tables it keeps are declared in customers.models."""
