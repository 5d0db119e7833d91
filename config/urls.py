"""The root URLs: the admin, the API, and each app's pages."""

from django.contrib import admin
from django.urls import include, path

from config.api import api

admin.site.site_header = "Tenantry support"
admin.site.site_title = "Tenantry support"
admin.site.index_title = "Support tools"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("settings/billing/", include("billing.urls")),
    path("", include("audit.urls")),
    path("", include("customers.urls")),
]

# JSON under /api/ (the browser middleware, CSP included, is skipped there), pages elsewhere.
handler404 = "config.errors.not_found"
handler500 = "config.errors.server_error"
