"""The Django admin for support staff: one module per part of the domain, registered on import."""

from customers.admin import identity
from customers.admin.customers import CustomerAdmin
from customers.admin.mixins import EstimatedCountPaginator

__all__ = ["CustomerAdmin", "EstimatedCountPaginator", "identity"]
