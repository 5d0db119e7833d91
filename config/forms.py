"""How form widgets are rendered: through Jinja2, whose includes cost little. A select's every
option is an include in Django's own widget templates, and the Audit Log's action filter has
over a hundred options (make bench PROFILE=audit-log-dates-user showed ~300 includes a page)."""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates, Jinja2
from django.template.exceptions import TemplateDoesNotExist
from django.utils.functional import cached_property


class WidgetRenderer(Jinja2):
    """Django's Jinja2 form renderer (Django ships Jinja2 versions of its widget templates).
    A widget with no Jinja2 template (django-filter's date range) renders as before."""

    @cached_property
    def fallback(self) -> DjangoTemplates:
        return DjangoTemplates()

    def get_template(self, template_name: str) -> Any:
        try:
            return super().get_template(template_name)
        except TemplateDoesNotExist:
            return self.fallback.get_template(template_name)
