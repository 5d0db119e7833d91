"""The SSO connection form: the provider, the client, and how claims map to people and roles."""

from __future__ import annotations

from typing import Any

from django import forms

from customers.identity.sso.models import SsoConnection
from customers.people.models import CustomerUser
from customers.platform.validators import validate_single_line

GROUP_ROLES_HELP = (
    "One group per line, as “group name = role”, e.g. “it-admins = admin”. Roles: "
    + ", ".join(label.lower() for _value, label in CustomerUser.Role.choices)
    + ". People in no listed group get the default role."
)


# A role by its value or by the name the pages show (“admin” for superuser).
ROLE_WORDS = {label.lower(): value for value, label in CustomerUser.Role.choices}


def group_roles_text(group_roles: dict[str, str]) -> str:
    return "\n".join(f"{group} = {role}" for group, role in group_roles.items())


OIDC_FIELDS = ("issuer", "client_id", "client_secret")
SAML_FIELDS = (
    "idp_metadata_url",
    "idp_metadata_xml",
    "idp_entity_id",
    "idp_sso_url",
    "idp_certificate",
    "allow_idp_initiated",
)
CODE = {"autocomplete": "off", "spellcheck": "false"}
# Fields one protocol or the other needs, and what the form says when they are missing.
Needs = tuple[tuple[str, str], ...]
OIDC_NEEDS: Needs = (("issuer", "the issuer URL"), ("client_id", "the client ID"))
NEEDED_SOMEHOW = (
    "issuer",
    "client_id",
    "idp_metadata_url",
    "idp_metadata_xml",
    "idp_entity_id",
    "idp_sso_url",
    "idp_certificate",
)
KEEP_SECRET = "Set. Leave empty to keep it; type a new one to replace it."
KEEP_METADATA = "Leave empty to keep the settings below; paste new metadata to replace them."


class SsoConnectionForm(forms.Form):
    protocol = forms.ChoiceField(
        required=False,  # OpenID Connect when not said, as before SAML was offered
        choices=SsoConnection.Protocol.choices,
        initial=SsoConnection.Protocol.OIDC,
        widget=forms.RadioSelect,
        help_text="What your identity provider speaks; most speak both.",
    )
    name = forms.CharField(
        max_length=100,
        validators=[validate_single_line],
        help_text="What your people will see on the sign-in page, e.g. “Okta”.",
    )
    issuer = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="Issuer URL",
        help_text="Your provider's OpenID Connect issuer, e.g. https://acme.okta.com: its "
        "discovery document is found under it.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    client_id = forms.CharField(
        required=False,
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
    idp_metadata_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="IdP metadata URL",
        help_text="Okta: “Metadata URL” on the Sign On tab · Entra: “App Federation Metadata "
        "Url”. Tenantry reads the settings below from it, and again each day (so new "
        "certificates arrive by themselves).",
        widget=forms.URLInput(attrs=CODE),
    )
    idp_metadata_xml = forms.CharField(
        required=False,
        max_length=200_000,
        label="IdP metadata XML",
        help_text="Or paste the metadata (Okta: “View SAML setup instructions”; Entra: "
        "“Federation Metadata XML”).",
        widget=forms.Textarea(attrs={"rows": 3, **CODE}),
    )
    idp_entity_id = forms.CharField(
        required=False,
        max_length=500,
        label="IdP entity ID",
        help_text="Okta: Identity Provider Issuer · Entra: Microsoft Entra Identifier.",
        validators=[validate_single_line],
        widget=forms.TextInput(attrs=CODE),
    )
    idp_sso_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label="IdP sign-in URL",
        help_text="Okta: Identity Provider Single Sign-On URL · Entra: Login URL (the "
        "HTTP-Redirect binding's).",
        widget=forms.URLInput(attrs=CODE),
    )
    idp_certificate = forms.CharField(
        required=False,
        max_length=20_000,
        label="IdP signing certificate",
        help_text="PEM (-----BEGIN CERTIFICATE-----…); two during a rollover.",
        widget=forms.Textarea(attrs={"rows": 3, **CODE}),
    )
    allow_idp_initiated = forms.BooleanField(
        required=False,
        label="Allow IdP-initiated sign-in",
        help_text="Sign in people who start from the IdP's app dashboard. Off, only sign-ins "
        "that start at Tenantry are accepted, which is safer.",
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
                if field not in ("client_secret", "group_roles", "idp_metadata_xml")
            } | {"group_roles": group_roles_text(connection.group_roles)}
        super().__init__(*args, **kwargs)
        self.connection = connection
        for field in NEEDED_SOMEHOW:
            # form_field.html reads it: no "(optional)", as clean() says when it is needed.
            setattr(self.fields[field], "conditionally_required", True)  # noqa: B010
        if connection is not None:  # a connection keeps its protocol: show only its fields
            del self.fields["protocol"]
            for field in OIDC_FIELDS if connection.is_saml else SAML_FIELDS:
                del self.fields[field]
            self._help_for(connection)
        elif "client_secret" in self.fields:
            self.fields["client_secret"].help_text = "Kept encrypted; never shown again."

    def _help_for(self, connection: SsoConnection) -> None:
        if connection.is_saml:
            self.fields["idp_metadata_xml"].help_text = KEEP_METADATA
        elif connection.has_secret:
            self.fields["client_secret"].help_text = KEEP_SECRET
        else:
            self.fields["client_secret"].help_text = "Kept encrypted; never shown again."

    def chosen_protocol(self) -> str:
        if self.connection is not None:
            return self.connection.protocol
        chosen = getattr(self, "cleaned_data", {}).get("protocol")
        return str(chosen or SsoConnection.Protocol.OIDC)

    def clean_group_roles(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["group_roles"].splitlines(), 1):
            if not line.strip():
                continue
            group, equals, role = line.rpartition("=")
            if not equals or not group.strip():
                raise forms.ValidationError(f"Line {number}: write it as “group name = role”.")
            role = ROLE_WORDS.get(role.strip().lower(), role.strip().lower())
            if role not in CustomerUser.Role.values:
                raise forms.ValidationError(
                    f"Line {number}: “{role}” is not a role; use one of "
                    f"{', '.join(CustomerUser.Role.values)}."
                )
            mapping[group.strip()] = role
        return mapping

    def clean(self) -> dict[str, Any] | None:
        data = super().clean() or {}
        # A SAML draft may be saved with a name only: its page then shows the ACS URL and
        # entity ID an IdP's wizard asks for before it gives its own values.
        needed = OIDC_NEEDS if self.chosen_protocol() == SsoConnection.Protocol.OIDC else ()
        for field, words in needed:
            if field in self.fields and not data.get(field) and field not in self.errors:
                self.add_error(field, f"Enter {words}.")
        return data

    def settings(self) -> dict[str, Any]:
        """The cleaned settings of the chosen protocol, without an empty secret (which keeps
        the one that is set) or empty metadata (which keeps the settings read from it)."""
        data = dict(self.cleaned_data)
        if "protocol" in self.fields:
            data["protocol"] = self.chosen_protocol()
        saml = self.chosen_protocol() == SsoConnection.Protocol.SAML
        for field in OIDC_FIELDS if saml else SAML_FIELDS:
            data.pop(field, None)
        for field in ("client_secret", "idp_metadata_xml"):
            if not data.get(field):
                data.pop(field, None)
        return data
