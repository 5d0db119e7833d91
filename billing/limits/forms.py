"""The limits pages' forms: plan defaults, pooled caps, entitlements, a customer's override."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from billing.dimensions import DIMENSION_CHOICES, DIMENSIONS
from billing.limits.models import MAX_LIMIT, Plan

LIMIT_HELP = "A whole number of 0 or more. For no limit, choose Unlimited."


class LimitValueField(forms.IntegerField):
    default_error_messages = {
        "invalid": "Enter a whole number of 0 or more, like 5000.",
        "min_value": "A limit cannot be negative: use 0 or more.",
        "max_value": "That is more than any limit can hold: for no limit, choose Unlimited.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_LIMIT)
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", LIMIT_HELP)
        super().__init__(**kwargs)


class OverrideForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("set", "Set this value"),
            ("unlimited", "Unlimited"),
            ("reset", "Reset to plan default"),
        ],
        initial="set",
        widget=forms.RadioSelect,
    )
    value = LimitValueField(label="New limit")
    reason = forms.CharField(
        max_length=300,
        required=False,  # required unless resetting to the default: checked in clean()
        help_text="Why this customer gets its own limit (needed unless you reset it).",
    )
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Not "(optional)": a value is needed to set one, a reason for every action but a reset.
        for name in ("value", "reason"):
            # Read by the field template; Django's Field has no such attribute to type.
            self.fields[name].conditionally_required = True  # type: ignore[attr-defined]  # see above

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "set" and data.get("value") is None and "value" not in self.errors:
            self.add_error("value", "Enter the new limit, or choose Unlimited.")
        if action in ("set", "unlimited") and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why this customer gets its own limit.")
        return data


class PlanLimitForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), empty_label=None)
    dimension = forms.ChoiceField(choices=DIMENSION_CHOICES)
    value = LimitValueField(
        label="New default", help_text="A whole number of 0 or more; leave empty for unlimited."
    )

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["plan"]).queryset = Plan.objects.for_organization(
            organization
        )


class PooledCapForm(forms.Form):
    dimension = forms.ChoiceField(
        choices=[(d.key, d.label) for d in DIMENSIONS.values() if not d.is_gauge]
    )
    value = LimitValueField(label="Shared cap", help_text="Empty removes the cap.")


class EntitlementsForm(forms.Form):
    """One plan's entitlements, starting from its current values: a save changes only the
    boxes the person changed (``changed_data``), never the others."""

    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), widget=forms.HiddenInput)
    can_configure_wordpress = forms.BooleanField(required=False, label="Can configure WordPress")
    can_reset_passwords = forms.BooleanField(required=False, label="Can reset passwords")
    can_upload_vcl = forms.BooleanField(required=False, label="Can upload VCL")
    has_improved_ssl_config = forms.BooleanField(required=False, label="Has improved SSL config")
    has_pci_passwords = forms.BooleanField(required=False, label="Has PCI passwords")

    def __init__(self, *args: Any, plan: Plan, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"plan": plan.pk, **plan.entitlements()})
        # Several of these forms share a page: each gets its own element ids.
        kwargs.setdefault("auto_id", f"entitlements-{plan.pk}-%s")
        super().__init__(*args, **kwargs)
        self.for_plan = plan
        plans = cast(forms.ModelChoiceField, self.fields["plan"])
        plans.queryset = Plan.objects.for_organization(plan.organization_id)

    def changed_entitlements(self) -> dict[str, bool]:
        return {name: self.cleaned_data[name] for name in self.changed_data if name != "plan"}
