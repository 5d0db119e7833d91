"""The scoped manager fails closed, and every Django path that touches it is handled."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.admin.sites import site
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from billing.models import Plan
from customers.models import ApiToken
from customers.platform.tenancy import UnscopedQueryError
from customers.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "evaluate",
    [
        pytest.param(list, id="iterate"),
        pytest.param(len, id="len"),
        pytest.param(bool, id="bool"),
        pytest.param(lambda qs: qs.count(), id="count"),
        pytest.param(lambda qs: qs.exists(), id="exists"),
        pytest.param(lambda qs: qs.first(), id="first"),
        pytest.param(lambda qs: qs.get(name="Free"), id="get"),
        pytest.param(lambda qs: list(qs.iterator()), id="iterator"),
        pytest.param(
            lambda qs: qs.aggregate(n=__import__("django").db.models.Count("pk")), id="aggregate"
        ),
        pytest.param(lambda qs: qs.update(name="x"), id="update"),
        pytest.param(lambda qs: qs.delete(), id="delete"),
        pytest.param(lambda qs: list(qs.values_list("name")), id="values_list"),
        pytest.param(lambda qs: qs.filter(name="Free")[0], id="index"),
    ],
)
def test_an_unscoped_queryset_raises_whatever_evaluates_it(org, evaluate):
    with pytest.raises(UnscopedQueryError, match="for_organization"):
        evaluate(Plan.objects.all())


def test_filtering_by_organization_by_hand_is_not_scoping(org):
    with pytest.raises(UnscopedQueryError):
        list(Plan.objects.filter(organization=org))


def test_scoped_querysets_return_only_the_organizations_rows(org, other_org):
    plans = Plan.objects.for_organization(org)

    assert plans.count() == 4
    assert {plan.organization_id for plan in plans} == {org.pk}
    assert (
        not Plan.objects.for_organization(org)
        .filter(pk__in=Plan.objects.for_organization(other_org).values("pk"))
        .exists()
    )


def test_scope_survives_chaining(org):
    assert (
        Plan.objects.for_organization(org)
        .filter(name="Pro")
        .order_by("name")
        .exclude(name="Free")
        .get()
        .name
        == "Pro"
    )


def test_for_organization_refuses_none():
    with pytest.raises(UnscopedQueryError):
        Plan.objects.for_organization(None)


def test_unscoped_is_explicit_and_sees_every_tenant(org, other_org):
    assert Plan.objects.unscoped().count() == 8


def test_reverse_related_managers_count_as_scoped(org):
    assert org.plans.count() == 4
    assert {plan.name for plan in org.plans.all()} == {"Free", "Starter", "Pro", "Enterprise"}


def test_prefetch_through_the_related_manager_works(org, other_org):
    from customers.models import Organization

    organizations = Organization.objects.prefetch_related("plans").order_by("name")
    assert [len(o.plans.all()) for o in organizations] == [4, 4]


def test_validate_unique_still_works_on_tenant_models(org, other_org):
    duplicate = Plan(organization=org, name="Free")
    with pytest.raises(ValidationError, match="already exists"):
        duplicate.full_clean()
    # The same name in another organization is fine: uniqueness is per tenant.
    Plan(organization=other_org, name="Gold").full_clean()


def test_a_model_form_choice_field_fails_closed_until_the_form_scopes_it(org, owner):
    class PlanChoiceForm(forms.Form):
        plan = forms.ModelChoiceField(queryset=Plan.objects.all())

    any_plan = Plan.objects.for_organization(org).first()
    with pytest.raises(UnscopedQueryError):
        PlanChoiceForm(data={"plan": str(any_plan.pk)}).is_valid()
    with pytest.raises(UnscopedQueryError):
        str(PlanChoiceForm()["plan"])  # rendering the options

    class ScopedForm(forms.Form):
        plan = forms.ModelChoiceField(queryset=Plan.objects.none())

        def __init__(self, *args, organization, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["plan"].queryset = Plan.objects.for_organization(organization)

    pro = Plan.objects.for_organization(org).get(name="Pro")
    form = ScopedForm(data={"plan": str(pro.pk)}, organization=org)
    assert form.is_valid()
    assert form.cleaned_data["plan"] == pro


def test_forward_foreign_keys_use_the_plain_base_manager(org, owner):
    token, _ = api_token_create(organization=org, name="ci", actor=owner)
    fetched = ApiToken.objects.for_organization(org).get(pk=token.pk)
    assert fetched.organization == org
    fetched.refresh_from_db()


def test_the_admin_opts_out_explicitly(org, other_org, owner):
    owner.is_staff = owner.is_superuser = True
    owner.save()
    api_token_create(organization=org, name="a", actor=owner)
    api_token_create(organization=other_org, name="b", actor=owner)
    request = RequestFactory().get("/admin/")
    request.user = owner

    queryset = site._registry[ApiToken].get_queryset(request)

    assert queryset.count() == 2
