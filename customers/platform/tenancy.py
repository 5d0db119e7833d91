"""Tenant scoping in the ORM (SPEC §7).

Every tenant-owned model gets ``objects = TenantManager()``. Its querysets **fail closed**: a
queryset that was not scoped with ``.for_organization(org)`` (or ``.for_customer(customer)``)
raises ``UnscopedQueryError`` the moment it would touch the database.

Reading across tenants is always one named call that says why (tests/config/test_architecture.py
keeps ``.unscoped()`` to the places allowed it):

* ``.unscoped()``: the Django admin, migrations and management commands;
* ``.for_worker()``: a background job picking due work from every organization (deliveries,
  expiries, health passes); it then acts on each row under that row's own organization;
* ``.by_secret()``: finding the one row a presented secret names (an API key, an invitation
  link) before anyone knows the tenant; the caller filters on the secret's hash at once;
* ``.for_sign_in()``: the SSO connection a sign-in is routed to, before anyone is signed in;
* ``.for_person(user)``: a person's own rows in every organization (their memberships and
  seats), which is how a request finds its tenant in the first place;
* ``.for_support()``: what support staff's admin offers across tenants (a filter's choices).

How Django's own paths are handled (each one is tested in tests/customers/test_tenancy.py):

* ``_default_manager`` is ``objects``, so anything Django builds from it fails closed too.
  - **Django admin**: ``TenantAdminMixin`` (customers/admin/mixins.py) overrides ``get_queryset``
    and the foreign-key choice fields to use ``.unscoped()``: support staff see every tenant.
    Django's related-field list filters read through ``_default_manager`` too and fail closed; the
    admin uses its own ``SimpleListFilter`` for those (``PlanNameFilter``).
  - **ModelForm choice fields** for a tenant-owned foreign key raise until the form sets a
    scoped ``queryset`` in ``__init__``; forgetting it is a loud error, never a leak.
  - **validate_unique / validate_constraints** query ``_default_manager``. Every uniqueness
    rule on a tenant model starts with ``organization``, so the check is already confined to
    the row's own tenant; ``TenantModel`` runs those checks under ``scope_bypass()``.
* ``_base_manager`` stays Django's plain manager. Django uses it to follow a forward foreign
  key from an object you already hold, to ``save()`` / ``refresh_from_db()`` that object and to
  collect cascades on delete: each starts from a row that was itself fetched scoped.
* **Reverse related managers** (``customer.connections.all()``) count as scoped: they filter by a
  parent row that was fetched scoped, and prefetching goes through them.
* **Migrations** get plain historical managers (``use_in_migrations`` is off).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Self

from django.db import models

if TYPE_CHECKING:
    from customers.identity.models import Organization
    from customers.records.models import Customer

_bypass: ContextVar[bool] = ContextVar("tenant_scope_bypass", default=False)


class UnscopedQueryError(RuntimeError):
    """A tenant-owned queryset was evaluated without being scoped to a tenant."""


@contextmanager
def scope_bypass() -> Iterator[None]:
    """Let Django's internal checks run unscoped. Not for views: use ``for_organization``."""
    token = _bypass.set(True)
    try:
        yield
    finally:
        _bypass.reset(token)


class TenantQuerySet(models.QuerySet[Any]):
    # What the queryset was scoped to: None (not scoped), "organization", "customer",
    # "related" (reached through a scoped parent row), or one of the named cross-tenant reads
    # ("unscoped", "worker", "secret", "sign-in", "person", "support").
    _tenant_scope: str | None = None

    def _clone(self) -> Self:
        clone: Self = super()._clone()  # type: ignore[misc]  # private QuerySet API, not in django-stubs
        clone._tenant_scope = self._tenant_scope
        return clone

    def _scoped(self, scope: str) -> Self:
        clone: Self = self._chain()  # type: ignore[attr-defined]  # private QuerySet API, not in django-stubs
        clone._tenant_scope = scope
        return clone

    def _require_scope(self) -> None:
        if self._tenant_scope is None and not _bypass.get():
            raise UnscopedQueryError(
                f"{self.model.__name__} is tenant-owned: scope the queryset with "
                ".for_organization(org) or .for_customer(customer) before using it."
            )

    # --- scoping -----------------------------------------------------------------------------
    def for_organization(self, organization: Organization | Any) -> Self:
        organization_id = getattr(organization, "pk", organization)
        if organization_id is None:
            raise UnscopedQueryError("for_organization() needs an organization, got None.")
        return self.filter(organization_id=organization_id)._scoped("organization")

    def for_customer(self, customer: Customer) -> Self:
        lookup = (
            {"pk": customer.pk}
            if self.model._meta.label == "customers.Customer"
            else {"customer_id": customer.pk}
        )
        return self.filter(organization_id=customer.organization_id, **lookup)._scoped("customer")

    def unscoped(self) -> Self:
        """Every tenant's rows. Only for the Django admin, migrations and management commands."""
        return self._scoped("unscoped")

    def for_worker(self) -> Self:
        """Every tenant's rows, for a background job that picks due work across organizations
        and then handles each row under the row's own organization."""
        return self._scoped("worker")

    def by_secret(self) -> Self:
        """Every tenant's rows, to find the one a presented secret names before the tenant is
        known. Filter on the secret's hash straight away; never on anything guessable."""
        return self._scoped("secret")

    def for_sign_in(self) -> Self:
        """Every tenant's rows, to route a sign-in before anyone is signed in: the SSO
        connections an email's verified domain leads to, or the one this session's flow began
        with. Filter on that domain or that id straight away."""
        return self._scoped("sign-in")

    def for_person(self, user: Any) -> Self:
        """One person's rows in every organization: how a request finds its tenant."""
        return self.filter(user=user)._scoped("person")

    def for_support(self) -> Self:
        """Every tenant's rows, for what support staff's admin offers across tenants."""
        return self._scoped("support")

    # --- every way a queryset reaches the database -------------------------------------------
    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def iterator(self, *args: Any, **kwargs: Any) -> Any:
        self._require_scope()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope()
        return super().delete()

    def explain(self, *args: Any, **kwargs: Any) -> str:
        self._require_scope()
        return super().explain(*args, **kwargs)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]  # django-stubs cannot type a dynamic base
    use_in_migrations = False

    def get_queryset(self) -> TenantQuerySet:
        queryset: TenantQuerySet = super().get_queryset()
        # A reverse related manager (customer.connections) filters by its parent row, which was
        # itself fetched through a scoped queryset.
        if hasattr(self, "instance") and hasattr(self, "core_filters"):
            queryset._tenant_scope = "related"
        return queryset


class TenantModel(models.Model):
    """Base for tenant-owned models: scoped manager plus uniqueness checks that still work."""

    objects = TenantManager()

    class Meta:
        abstract = True

    def validate_unique(self, exclude: Any = None) -> None:
        # Uniqueness rules on tenant models all lead with organization (see module docstring).
        with scope_bypass():
            super().validate_unique(exclude)

    def validate_constraints(self, exclude: Any = None) -> None:
        with scope_bypass():
            super().validate_constraints(exclude)
