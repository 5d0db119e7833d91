"""People's forms: inviting a teammate, and accepting an invitation (a new or existing account)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password

from customers.identity.models import User
from customers.people.models import CustomerUser


class TeammateInviteForm(forms.Form):
    email = forms.EmailField(
        error_messages={"invalid": "Enter a full email address, like jane@example.com."}
    )
    role = forms.ChoiceField(choices=CustomerUser.Role.choices, initial=CustomerUser.Role.USER)


class NewAccountForm(forms.Form):
    name = forms.CharField(max_length=150, label="Your name")
    password1 = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ; type the same one twice.")
        elif first:
            try:
                validate_password(first, User(email=self.email, name=data.get("name", "")))
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class ExistingAccountForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
