"""The Activity pages' and the Audit Log's URLs."""

from django.urls import path

from audit import portal_views, settings_views, views

app_name = "activity"

urlpatterns = [
    path("activity/executions/", views.executions, name="executions"),
    path(
        "activity/executions/<int:execution_id>/", views.execution_detail, name="execution_detail"
    ),
    path("activity/events/", views.events, name="events"),
    path("activity/customers/", views.customer_lookup, name="customer_lookup"),
    path("settings/audit-log/", views.audit_log, name="audit_log"),
    path("settings/audit-log/export.csv", views.audit_log_export, name="audit_log_export"),
    path("portal/audit-log/", portal_views.audit_log, name="portal_audit_log"),
    path("portal/audit-log/<int:entry_id>/", portal_views.audit_entry, name="portal_audit_entry"),
    path(
        "portal/audit-log/export.csv",
        portal_views.audit_log_export,
        name="portal_audit_log_export",
    ),
    path("settings/audit-log/settings/", settings_views.audit_settings, name="audit_settings"),
    path("settings/audit-log/streams/", settings_views.stream_add, name="stream_add"),
    path(
        "settings/audit-log/streams/<uuid:stream_id>/<str:action>",
        settings_views.stream_action,
        name="stream_action",
    ),
]
