"""The billing pages' URLs (/settings/billing/…)."""

from django.urls import path

from billing.alerts import views as alert_views
from billing.limits import views

app_name = "billing"

urlpatterns = [
    path("", views.billing_overview, name="overview"),
    path("customer-limits/", views.customer_limits, name="customer_limits"),
    path("alerts/", alert_views.alert_thresholds, name="alert_thresholds"),
    path(
        "customer-limits/<uuid:customer_id>/<str:dimension>/",
        views.limit_cell,
        name="limit_cell",
    ),
]
