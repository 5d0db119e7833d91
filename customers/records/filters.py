"""The Customers list's search, filters and sort (django-filter), every value in the URL."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from billing.selectors import plans_of
from customers.health.rules import NEEDS_ATTENTION_BELOW
from customers.records.models import Customer, CustomerStatus
from customers.records.pagination import LIVE_STATUSES, kept_count


def _organization_plans(request: Any) -> QuerySet:
    return plans_of(request.organization)


class UrlCheckbox(forms.CheckboxInput):
    """A checkbox read from the URL: "off", "no", "0" and "false" mean unticked (Django's own
    treats any text but "false" as ticked)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> bool:
        value = data.get(name)
        if isinstance(value, str) and value.strip().lower() in ("", "off", "no", "0", "false"):
            return False
        return super().value_from_datadict(data, files, name)


class CustomerFilter(django_filters.FilterSet):
    """Search, filters and sort of the Customers list; every value lives in the URL."""

    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, slug, external ID or admin email"}
        ),
    )
    status = django_filters.ChoiceFilter(
        choices=CustomerStatus.choices, empty_label="All statuses", method="filter_status"
    )
    plan = django_filters.ModelChoiceFilter(queryset=_organization_plans, empty_label="All plans")
    show_deleted = django_filters.BooleanFilter(
        method="filter_show_deleted",
        label="Show deleted",
        widget=UrlCheckbox,
    )
    attention = django_filters.BooleanFilter(
        method="filter_attention",
        label="Needs attention",
        widget=UrlCheckbox,
    )
    sort = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("created_at", "created"),
            ("status", "status"),
            ("health_score", "health"),
        ),
        field_labels={
            "name": "Name",
            "created_at": "Created",
            "status": "Status",
            "health_score": "Health",
        },
        empty_label=None,
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    def search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        value = value.strip()
        if not value:
            return queryset
        # Each icontains compiles to UPPER(col::text) LIKE UPPER(%s); on PostgreSQL the
        # trigram indexes of migration customers/0004 are built on exactly those expressions.
        return queryset.filter(
            Q(name__icontains=value)
            | Q(slug__icontains=value)
            | Q(external_id__icontains=value)
            | Q(admin_email__icontains=value)
        )

    def filter_status(
        self, queryset: QuerySet[Customer], name: str, value: str
    ) -> QuerySet[Customer]:
        return queryset.filter(status=value) if value else queryset

    def filter_attention(
        self, queryset: QuerySet[Customer], name: str, value: bool | None
    ) -> QuerySet[Customer]:
        return queryset.filter(health_score__lt=NEEDS_ATTENTION_BELOW) if value else queryset

    def filter_show_deleted(
        self, queryset: QuerySet[Customer], name: str, value: bool | None
    ) -> QuerySet[Customer]:
        return queryset

    def known_count(self) -> int | None:
        """How many customers match, from the counts the database keeps per status, when only
        the status decides it; None when a search, plan or attention filter needs a COUNT."""
        if self.is_bound and not self.form.is_valid():
            return None
        data = self.form.cleaned_data if self.is_bound else {}
        if (data.get("q") or "").strip() or data.get("plan") or data.get("attention"):
            return None
        return kept_count(self.request.organization, _statuses(data))

    @property
    def qs(self) -> QuerySet[Customer]:
        queryset = super().qs
        data = self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}
        # Deleted customers are hidden unless asked for, by the checkbox or the status filter.
        if not data.get("show_deleted") and data.get("status") != CustomerStatus.DELETED:
            queryset = queryset.exclude(status=CustomerStatus.DELETED)
        ordering = [*queryset.query.order_by] or ["name"]
        # Ties (same status, same health…) read in name order, then a stable one.
        ties = [] if any(str(o).lstrip("-") == "name" for o in ordering) else ["name"]
        return queryset.order_by(*ordering, *ties, "id")


def _statuses(data: dict[str, Any]) -> list[str]:
    """The statuses the list shows: the one filtered on, else all but deleted (unless asked)."""
    if data.get("status"):
        return [data["status"]]
    return CustomerStatus.values if data.get("show_deleted") else LIVE_STATUSES
