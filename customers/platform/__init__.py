"""What every app uses and that knows no domain: tenant scoping, the refusal hierarchy, the
request's declared shape, rendering of partials, keyset pages, client addresses and
allow-lists, throttles, DNS lookups, mail, how a refusal reaches the person, scrubbing secrets
out of text, and outbound HTTP (one destination rule and one transport for webhooks and log
streams). Nothing here imports a domain, a service, a view or another app; its one table
(throttle windows) is in platform/models.py."""
