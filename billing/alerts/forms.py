"""The usage alerts page's form: the percents of one scope."""

from __future__ import annotations

from typing import Any

from django import forms

from billing.alerts.services.alerts import parse_percents
from billing.dimensions import DIMENSIONS
from billing.errors import LimitError


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
