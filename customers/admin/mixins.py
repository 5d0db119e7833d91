"""What every support admin page shares: cross-tenant querysets, audited saves, estimated counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections, models
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.functional import cached_property

from audit.trail.actions import model_action
from audit.trail.services import as_json, record, record_read
from customers.models import Organization
from customers.platform.tenancy import TenantManager

# The mixins call ModelAdmin's methods through super(): the type checker is told what they mix
# into, at run time they stay plain mixins.
if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    AdminBase = ModelAdmin[Any]
else:
    AdminBase = object


class ValidSelectionMixin(AdminBase):
    """An admin action posted with ids that are not ids (a crafted "_selected_action") is
    refused with a message, not a 500 from the database lookup."""

    def response_action(self, request: HttpRequest, queryset: Any) -> Any:
        try:
            return super().response_action(request, queryset)
        except ValidationError:
            self.message_user(
                request, "Those are not ids of items in this list: select items.", messages.ERROR
            )
            return HttpResponseRedirect(request.get_full_path())


class TenantAdminMixin(ValidSelectionMixin):
    """Support staff work across tenants: the admin is one of the few places that opts out of
    tenant scoping, explicitly (see customers/platform/tenancy.py)."""

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        model: Any = self.model  # a tenant model: its manager is a TenantManager
        queryset = model.objects.unscoped()
        ordering = self.get_ordering(request)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return queryset

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        response = super().change_view(request, object_id, form_url, extra_context)
        # Read auditing (opt-in per organization): support staff opening a record.
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, object_id)
            if obj is not None and obj._meta.label != "audit.AuditEntry":
                record_read(
                    organization=organization_of(obj),
                    actor=request.user,
                    resource=obj,
                    message="Opened in the support admin",
                )
        return response

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.remote_field.model
        if "queryset" not in kwargs and isinstance(related._default_manager, TenantManager):
            kwargs["queryset"] = related.objects.unscoped()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class EstimatedCountPaginator(Paginator):
    """An unfiltered changelist of a big table asks PostgreSQL's statistics for the row count
    instead of COUNT(*), which reads the whole table; a filtered one counts for real."""

    @cached_property
    def count(self) -> int:
        queryset: Any = self.object_list
        query = getattr(queryset, "query", None)
        if (
            query is not None
            and not query.where
            and connections[queryset.db].vendor == "postgresql"
        ):
            with connections[queryset.db].cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


class AuditedAdminMixin(ValidSelectionMixin):
    """Every change made in the admin is audited, in the admin's own transaction."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        changed = {
            field: [as_json(form.initial.get(field)), as_json(form.cleaned_data.get(field))]
            for field in form.changed_data
        }
        super().save_model(request, obj, form, change)
        record(
            action=model_action(
                obj._meta.model_name, "updated_by_support" if change else "created_by_support"
            ),
            organization=organization_of(obj),
            actor=request.user,
            resource=obj,
            changes=changed,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        record(
            action=model_action(obj._meta.model_name, "deleted_by_support"),
            organization=organization_of(obj),
            actor=request.user,
            resource=obj,
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        deleted = [f.instance for f in formset.deleted_forms if f.instance.pk is not None]
        for obj in deleted:
            record(
                action=model_action(obj._meta.model_name, "deleted_by_support"),
                organization=organization_of(obj),
                actor=request.user,
                resource=obj,
            )
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            record(
                action=model_action(obj._meta.model_name, "created_by_support"),
                organization=organization_of(obj),
                actor=request.user,
                resource=obj,
            )
        for obj, fields in formset.changed_objects:
            record(
                action=model_action(obj._meta.model_name, "updated_by_support"),
                organization=organization_of(obj),
                actor=request.user,
                resource=obj,
                changes={field: [None, as_json(getattr(obj, field, None))] for field in fields},
            )


def organization_of(obj: Any) -> Organization | None:
    if isinstance(obj, Organization):
        return obj
    return getattr(obj, "organization", None)


class ParentScopedInlineFormSet(BaseInlineFormSet):
    """An inline's row ids are looked up among the parent's own rows: Django reads them through
    the model's default manager, which (tenant-scoped) refuses an unscoped lookup."""

    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        pk = form.fields.get(self.model._meta.pk.name)
        if pk is not None and hasattr(pk, "queryset"):
            pk.queryset = self.model.objects.unscoped().filter(**{self.fk.name: self.instance})
