"""Form widgets render through Jinja2 (config/forms.py) to the very markup Django's own
templates give, and a widget with no Jinja2 template still renders."""

from __future__ import annotations

import re

import pytest
from django.forms.renderers import DjangoTemplates
from django.test import RequestFactory

from audit.filters import AuditFilter, ExecutionFilter
from config.forms import WidgetRenderer
from customers.records.filters import CustomerFilter

pytestmark = pytest.mark.django_db


def markup(form, renderer) -> str:
    form.renderer = renderer
    html = "".join(str(field) + field.label_tag() for field in form)
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


@pytest.mark.parametrize("filterset", [AuditFilter, ExecutionFilter, CustomerFilter])
def test_each_filter_forms_widgets_are_the_same_in_both_engines(filterset, org, owner):
    request = RequestFactory().get("/", {"outcome": "denied", "status": "failed"})
    request.organization, request.user = org, owner
    form = filterset(request.GET, request=request).form
    jinja2, django = markup(form, WidgetRenderer()), markup(form, DjangoTemplates())
    assert jinja2 == django
    assert "<select" in jinja2


def test_a_widget_with_only_a_django_template_falls_back_to_it():
    template = WidgetRenderer().get_template("django_filters/widgets/multiwidget.html")
    assert "widget" in template.template.source
