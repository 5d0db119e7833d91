"""The Activity pages' and the Audit Log's filters (django-filter), every value in the URL."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.apps import apps
from django.db.models import Q, QuerySet

from audit.activity.models import Event, Execution, Workflow
from audit.trail.actions import action_choices
from audit.trail.models import AuditEntry


def _workflows(request: Any) -> QuerySet[Workflow]:
    return Workflow.objects.for_organization(request.organization)


class OrderedDateRangeField(django_filters.fields.DateRangeField):
    def clean(self, value: Any) -> Any:
        span = super().clean(value)
        if span and span.start and span.stop and span.start > span.stop:
            raise forms.ValidationError("The “from” date is after the “to” date.")
        return span


class DateRange(django_filters.DateFromToRangeFilter):
    """From / to dates (UTC days, both included); a "from" after the "to" is refused."""

    field_class = OrderedDateRangeField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", django_filters.widgets.DateRangeWidget(attrs={"type": "date"}))
        super().__init__(*args, **kwargs)
        # One visible label sits before the pair; each box also names its own end.
        start, end = self.extra["widget"].widgets
        start.attrs = {**start.attrs, "aria-label": f"{self.label} from"}
        end.attrs = {**end.attrs, "aria-label": f"{self.label} to"}


class CustomerNamed(django_filters.CharFilter):
    """The customer box typed and submitted (Enter, Apply, or without JavaScript): every
    customer whose name, slug or external id contains the words."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return qs
        return qs.filter(
            Q(customer__name__icontains=value)
            | Q(customer__slug__icontains=value)
            | Q(customer__external_id__icontains=value)
        )


class ExecutionFilter(django_filters.FilterSet):
    workflow = django_filters.ModelChoiceFilter(queryset=_workflows, empty_label="All workflows")
    customer = django_filters.UUIDFilter(field_name="customer_id", widget=forms.HiddenInput)
    customer_q = CustomerNamed(label="Customer")
    triggered_by = django_filters.ChoiceFilter(
        choices=Execution.TriggeredBy.choices, empty_label="Any trigger", label="Triggered By"
    )
    status = django_filters.ChoiceFilter(choices=Execution.Status.choices, empty_label="Any status")
    started = DateRange(field_name="started_at", label="Started")

    class Meta:
        model = Execution
        fields: list[str] = []


class EventFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Event.Type.choices, widget=forms.HiddenInput)
    direction = django_filters.ChoiceFilter(
        choices=Event.Direction.choices, empty_label="Both directions"
    )
    customer = django_filters.UUIDFilter(field_name="customer_id", widget=forms.HiddenInput)
    customer_q = CustomerNamed(label="Customer")
    occurred = DateRange(field_name="occurred_at", label="Occurred")

    class Meta:
        model = Event
        fields: list[str] = []


def resource_type_choices() -> list[tuple[str, str]]:
    """Entries name their resource by model ("customer", "customeruser"): our apps' models."""
    models = [
        m for m in apps.get_models() if m._meta.app_label in ("customers", "billing", "audit")
    ]
    models += [apps.get_model("auth", "group")]
    names = {m._meta.model_name: str(m._meta.verbose_name).capitalize() for m in models}
    # The few entries about something that is not a row.
    names |= {
        "audit_log": "Audit Log export",
        "pooled_cap": "Pooled cap",
        "url": "Page or endpoint",
    }
    return sorted(names.items(), key=lambda item: item[1])


class AuditFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(field_name="actor_label", lookup_expr="iexact", label="User")
    action = django_filters.ChoiceFilter(
        choices=action_choices,
        method="filter_action",
        label="Action type",
        empty_label="Any action",
    )
    resource_type = django_filters.ChoiceFilter(
        choices=resource_type_choices, label="Resource type", empty_label="Any resource"
    )
    resource_id = django_filters.CharFilter(label="Resource ID")
    outcome = django_filters.ChoiceFilter(
        choices=AuditEntry.Outcome.choices, empty_label="Any outcome"
    )
    date = DateRange(field_name="created_at", label="Date")

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # "customer" matches every customer.* action; "customer.updated" exactly that one.
        value = value.strip()
        if not value:
            return queryset
        if "." in value:
            return queryset.filter(action=value)
        return queryset.filter(Q(action=value) | Q(action__startswith=f"{value}."))


def filtered(filters: Any, base: QuerySet) -> QuerySet:
    """What a filter set selects from ``base``. Bad filter values (a date like 2026-13-40)
    show their error and no rows, never a 500."""
    if not filters.is_bound:
        return base
    return filters.qs if filters.is_valid() else base.none()
