"""Identity, the customer record, its people, connections, health, webhooks and portal, over the
platform layer every app shares (customers/platform/)."""
