"""Identity's forms: sign-in, API keys, and the two-factor code."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from customers.identity.services.sign_in import break_glass_signed_in, password_sign_in_refused
from customers.platform.validators import validate_single_line


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        refusal = password_sign_in_refused(user, self.request)
        if refusal:
            raise forms.ValidationError(refusal, code="refused")
        break_glass_signed_in(user, self.request)

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That email and password don't match an account. Check both and try again."
        ),
    }


class ApiTokenForm(forms.Form):
    # The model's rules for the name: its length and one line (no CR/LF, U+2028, \x01…).
    name = forms.CharField(
        max_length=100,
        validators=[validate_single_line],
        label="Key name",
        help_text="Where it will be used, e.g. “billing-sync production”.",
    )


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Key name", help_text="Where it will be used, e.g. “ci-pipeline”."
    )


class TokenCodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=8,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )
