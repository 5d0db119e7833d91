"""The Activity pages' and the Audit Log's filters (django-filter), every value in the URL."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from audit.models import AuditEntry, Event, Execution, Workflow


def _workflows(request: Any) -> QuerySet[Workflow]:
    return Workflow.objects.for_organization(request.organization)


class DateRange(django_filters.DateFromToRangeFilter):
    """From / to dates (UTC days, both included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", django_filters.widgets.DateRangeWidget(attrs={"type": "date"}))
        super().__init__(*args, **kwargs)


class ExecutionFilter(django_filters.FilterSet):
    workflow = django_filters.ModelChoiceFilter(queryset=_workflows, empty_label="All workflows")
    customer = django_filters.UUIDFilter(field_name="customer_id", widget=forms.HiddenInput)
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
    occurred = DateRange(field_name="occurred_at", label="Occurred")

    class Meta:
        model = Event
        fields: list[str] = []


class AuditFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(field_name="actor_label", lookup_expr="iexact", label="User")
    action = django_filters.CharFilter(method="filter_action", label="Action type")
    resource_type = django_filters.CharFilter(label="Resource type")
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
        return queryset.filter(action__startswith=f"{value}.")
