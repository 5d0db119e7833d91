"""Pages of the Customers list that cost what the first page costs: the total from the counts
the database keeps (when only the status decides it), and a deferred join for the rows."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet, Sum
from django.utils.functional import cached_property

from customers.records.models import CustomerCount, CustomerStatus

# What the lists show unless asked for deleted customers.
LIVE_STATUSES = [s for s in CustomerStatus.values if s != CustomerStatus.DELETED]


def kept_count(organization: Any, statuses: list[str]) -> int:
    """How many of the organization's customers have one of ``statuses``: from the counts the
    database keeps (customers.models.CustomerCount), one row per status, never a COUNT(*)."""
    counts = CustomerCount.objects.for_organization(organization).filter(status__in=statuses)
    return counts.aggregate(n=Sum("n"))["n"] or 0


class CustomerPaginator(Paginator):
    """A Paginator given its total (None: count the rows), which fetches a page in two steps:
    the page's ids by skipping through the sort's index alone, then those rows joined
    (one query, the ids as a subquery). OFFSET over whole rows would read every skipped row."""

    def __init__(self, object_list: QuerySet, per_page: int, *, count: int | None) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        if self._known_count is not None:
            return self._known_count
        return super().count

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        queryset: Any = self.object_list
        ids = queryset.values("pk")[bottom : bottom + self.per_page]
        rows = queryset.filter(pk__in=ids)  # the same filters and order, 25 rows
        return Page(list(rows), number, self)
