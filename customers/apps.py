"""The customers app: identity, the customer record, its people and connections, health,
webhooks and the portal, one package each over the shared platform layer."""

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers and identity"

    def ready(self) -> None:
        from customers.health import services  # noqa: F401  (scores follow usage and limits)
        from customers.identity import signals  # noqa: F401
        from customers.identity.domains import checks  # noqa: F401  (DNS_NAMESERVERS)
        from customers.webhooks import outbox  # noqa: F401  (audited changes become events)
