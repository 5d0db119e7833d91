"""The SSO connection form: the provider, the client, and how claims map to people and roles."""

from __future__ import annotations

from typing import Any

from django import forms

from customers.identity.sso.models import SsoConnection
from customers.people.models import CustomerUser
from customers.platform.validators import validate_single_line

GROUP_ROLES_HELP = (
    "One group per line, as “group name = role”, e.g. “it-admins = superuser”. Roles: "
    + ", ".join(f"{value} ({label})" for value, label in CustomerUser.Role.choices)
    + ". People in no listed group get the default role."
)


def group_roles_text(group_roles: dict[str, str]) -> str:
    return "\n".join(f"{group} = {role}" for group, role in group_roles.items())


class SsoConnectionForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        validators=[validate_single_line],
        help_text="What your people will see on the sign-in page, e.g. “Okta”.",
    )
    issuer = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Issuer URL",
        help_text="Your provider's OpenID Connect issuer, e.g. https://acme.okta.com: its "
        "discovery document is found under it.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    client_id = forms.CharField(
        max_length=255,
        label="Client ID",
        validators=[validate_single_line],
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    client_secret = forms.CharField(
        max_length=500,
        required=False,
        label="Client secret",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    email_claim = forms.CharField(max_length=100, initial="email", label="Email claim")
    first_name_claim = forms.CharField(
        max_length=100, initial="given_name", label="First name claim"
    )
    last_name_claim = forms.CharField(
        max_length=100, initial="family_name", label="Last name claim"
    )
    groups_claim = forms.CharField(max_length=100, initial="groups", label="Groups claim")
    group_roles = forms.CharField(
        required=False,
        label="Group roles",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=GROUP_ROLES_HELP,
    )
    default_role = forms.ChoiceField(
        choices=CustomerUser.Role.choices, initial=CustomerUser.Role.USER, label="Default role"
    )
    provision_users = forms.BooleanField(
        required=False,
        initial=True,
        label="Create accounts at first sign-in",
        help_text="For people whose email is at one of your verified domains, within your "
        "seat limit.",
    )

    def __init__(self, *args: Any, connection: SsoConnection | None = None, **kwargs: Any):
        if connection is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                field: getattr(connection, field)
                for field in self.base_fields
                if field not in ("client_secret", "group_roles")
            } | {"group_roles": group_roles_text(connection.group_roles)}
        super().__init__(*args, **kwargs)
        secret = self.fields["client_secret"]
        if connection is not None and connection.has_secret:
            secret.help_text = "Set. Leave empty to keep it; type a new one to replace it."
        else:
            secret.help_text = "Kept encrypted; never shown again."

    def clean_group_roles(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["group_roles"].splitlines(), 1):
            if not line.strip():
                continue
            group, equals, role = line.rpartition("=")
            if not equals or not group.strip():
                raise forms.ValidationError(f"Line {number}: write it as “group name = role”.")
            role = role.strip().lower()
            if role not in CustomerUser.Role.values:
                raise forms.ValidationError(
                    f"Line {number}: “{role}” is not a role; use one of "
                    f"{', '.join(CustomerUser.Role.values)}."
                )
            mapping[group.strip()] = role
        return mapping

    def settings(self) -> dict[str, Any]:
        """The cleaned settings, without an empty secret (which keeps the one that is set)."""
        data = dict(self.cleaned_data)
        if not data.get("client_secret"):
            data.pop("client_secret", None)
        return data
