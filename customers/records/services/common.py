"""Helpers every customer service shares: the row lock, plan entitlements, the refusal audit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.models import Organization
from customers.platform.errors import Denied, ServiceError
from customers.records.models import Customer

T = TypeVar("T")
CUSTOMER_DELETED_NO_CHANGES = "{name} is deleted; restore it before changing it."


def audited(action: Action) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Refusals are audited too: the entry is written after the refused transaction has rolled
    back, so it survives it."""

    def decorator(service: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(service)
        def wrapped(**kwargs: Any) -> T:
            try:
                return service(**kwargs)
            except (ServiceError, ValidationError) as error:
                target = next(
                    (
                        kwargs[name]
                        for name in (
                            "customer",
                            "invitation",
                            "connection",
                            "seat",
                            "token",
                            "endpoint",
                            "stream",
                            "domain",
                            "link",
                        )
                        if kwargs.get(name) is not None
                    ),
                    None,
                )
                organization = kwargs.get("organization") or getattr(target, "organization", None)
                text = (
                    "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                )
                record(
                    action=action,
                    organization=organization,
                    actor=kwargs.get("actor"),
                    resource=target,
                    resource_type="" if target else action.split(".")[0],
                    resource_label="" if target else str(kwargs.get("name") or ""),
                    outcome=Outcome.DENIED if isinstance(error, Denied) else Outcome.FAILURE,
                    message=text,
                )
                raise

        return wrapped

    return decorator


def locked_customer(customer: Customer) -> Customer:
    return (
        Customer.objects.for_organization(customer.organization_id)
        .select_for_update()
        .select_related("organization", "plan")
        .get(pk=customer.pk)
    )


def locked_organization(organization: Organization) -> Organization:
    """The organization's row, locked until the transaction ends. A write that counts the
    organization's rows before adding one (endpoints, log streams) takes it first, so two at
    once cannot both see room under the limit."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


def apply_entitlements(customer: Customer) -> None:
    for field, value in customer.plan.entitlements().items():
        setattr(customer, field, value)
