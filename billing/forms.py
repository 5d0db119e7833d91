"""The billing pages' forms: plan defaults, pooled caps, entitlements, a customer's override,
usage alert percents."""

from __future__ import annotations

from typing import Any

from django import forms

from billing.dimensions import DIMENSION_CHOICES, DIMENSIONS
from billing.models import MAX_LIMIT, Plan
from billing.services import LimitError, parse_percents

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
        self.fields["value"].conditionally_required = True
        self.fields["reason"].conditionally_required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
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
        self.fields["plan"].queryset = Plan.objects.for_organization(organization)


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
        self.fields["plan"].queryset = Plan.objects.for_organization(plan.organization_id)

    def changed_entitlements(self) -> dict[str, bool]:
        return {name: self.cleaned_data[name] for name in self.changed_data if name != "plan"}


class ThresholdsForm(forms.Form):
    """The usage alert percents of one scope (the organization, a plan or a customer): per
    daily or monthly limit, follow the scope above, these percents, or no alerts."""

    def __init__(self, *args: Any, current: dict, inherited: dict, above: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.dimensions = list(current)
        for key, thresholds in current.items():
            label = DIMENSIONS[key].label
            self.fields[f"{key}_mode"] = forms.ChoiceField(
                label=f"{label}: alert",
                choices=[
                    ("inherit", f"Use {above}: {_percents(inherited[key].percents)}"),
                    ("custom", "Use these percentages"),
                    ("none", "Never alert"),
                ],
                widget=forms.RadioSelect,
                initial=_mode(thresholds.own),
            )
            self.fields[f"{key}_percents"] = forms.CharField(
                label=f"{label}: percentages of the limit",
                required=False,
                max_length=60,
                initial=", ".join(str(p) for p in thresholds.own or ()),
                help_text="Up to 5 whole numbers from 1 to 100, separated by commas, e.g. 50, 80, "
                "100. Used with “Use these percentages”.",
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for key in self.dimensions:
            if data.get(f"{key}_mode") != "custom" or f"{key}_percents" in self.errors:
                continue
            try:
                percents = parse_percents(data.get(f"{key}_percents") or "")
            except LimitError as error:
                self.add_error(f"{key}_percents", str(error))
                continue
            if not percents:
                self.add_error(
                    f"{key}_percents", "Give at least one percentage, or choose Never alert."
                )
            data[f"{key}_parsed"] = percents
        return data

    def wanted(self) -> dict[str, list[int] | None]:
        """Dimension -> percents ([] for never), or None to follow the scope above."""
        data = self.cleaned_data
        return {
            key: {"inherit": None, "none": []}.get(data[f"{key}_mode"], data.get(f"{key}_parsed"))
            for key in self.dimensions
        }


def _mode(own: tuple[int, ...] | None) -> str:
    return "inherit" if own is None else "custom" if own else "none"


def _percents(percents: tuple[int, ...]) -> str:
    return ", ".join(f"{p}%" for p in percents) if percents else "never"
