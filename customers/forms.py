from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from customers.models import ApiToken


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That email and password don't match an account. Check both and try again."
        ),
    }


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        labels = {"name": "Key name"}
        help_texts = {"name": "Where it will be used, e.g. “billing-sync production”."}
