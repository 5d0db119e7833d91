"""Saving a customer edit form through a service, pinned to the version it was read at."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from customers.platform.errors import ServiceError, StaleEdit
from customers.platform.requests import AuthedRequest
from customers.platform.responses import refusal_onto_form
from customers.records.forms import merge_stale_edit


@dataclass
class Edit:
    """The outcome of saving an edit form through a service."""

    form: Any
    saved: bool = False
    conflict: list[dict[str, Any]] | None = None

    @property
    def status(self) -> int:
        return 409 if self.conflict else 422 if self.form.errors else 200


def save_edit(
    request: AuthedRequest, form: Any, service: Callable[..., Any], **kwargs: Any
) -> Edit:
    """Save a customer edit form (the console's or the portal's) through ``service``: only the
    changed fields, pinned to the version the form was read at. A stale edit keeps both
    people's changes in view (merge_stale_edit) instead of overwriting."""
    changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "version"}
    try:
        service(expected_version=form.cleaned_data["version"], changes=changes, **kwargs)
    except StaleEdit as error:
        conflict, form = merge_stale_edit(request, form, error.current)
        form.add_error(None, f"{error} Review the differences below, then save again.")
        return Edit(form, conflict=conflict)
    except (ServiceError, ValidationError) as error:
        refusal_onto_form(form, error)
        return Edit(form)
    return Edit(form, saved=True)
