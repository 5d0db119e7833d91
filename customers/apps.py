"""The customers app: identity, tenancy, customers, invitations, the portal."""

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers and identity"

    def ready(self) -> None:
        from customers import signals  # noqa: F401
        from customers.services import health  # noqa: F401  (scores follow usage and limits)
        from customers.webhooks import outbox  # noqa: F401  (audited changes become events)
