from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.text import slugify

from billing.models import Plan
from customers.models import (
    ApiToken,
    Customer,
    CustomerUser,
    Organization,
    validate_slug_not_uuid,
)
from customers.net import normalise_ip_allow_list
from customers.services import EDITABLE_FIELDS


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


class CustomerCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="The company's display name.")
    slug = forms.SlugField(
        max_length=80,
        required=False,
        help_text="URL-safe and unique in your organization. Filled in from the name; edit it "
        "if you like.",
    )
    external_id = forms.CharField(
        label="External ID",
        max_length=100,
        required=False,
        help_text="Your own identifier for this customer, e.g. customer_12345.",
    )
    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), empty_label=None)
    admin_email = forms.EmailField(
        label="Admin email",
        required=False,
        help_text="We email this person an invitation to activate the customer.",
        error_messages={"invalid": "Enter a full email address, like jane@example.com."},
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.for_organization(organization)
        self.fields["name"].widget.attrs.update({"data-slug-source": "id_slug", "autofocus": True})
        self.fields["slug"].widget.attrs.update({"data-slug-target": "1"})

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"] or slugify(self.cleaned_data.get("name", ""))
        validate_slug_not_uuid(slug)
        return slug


class CustomerEditForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Customer
        fields = list(EDITABLE_FIELDS)
        widgets = {
            "postal_address": forms.Textarea(attrs={"rows": 3}),
            "ip_whitelist": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        customer = self.instance
        self.fields["plan"].queryset = Plan.objects.for_organization(customer.organization_id)
        self.fields["plan"].empty_label = None
        seats = CustomerUser.objects.for_customer(customer).select_related("user")
        for name in ("billing_contact", "legal_contact", "security_contact", "technical_contact"):
            self.fields[name].queryset = seats
            self.fields[name].empty_label = "— none —"
            self.fields[name].label_from_instance = lambda seat: seat.user.email
        if not self.is_bound:
            self.initial["version"] = customer.version
        # Each field carries the value the form was shown with, so a save knows which fields
        # this person changed and never writes back a value someone else has since replaced.
        for name in EDITABLE_FIELDS:
            self.fields[name].show_hidden_initial = True

    def shown_value(self, name: str) -> Any:
        """The value field ``name`` had when the form was shown (from its hidden initial)."""
        field = self.fields[name]
        raw = field.hidden_widget().value_from_datadict(
            self.data, self.files, self.add_initial_prefix(name)
        )
        try:
            return field.to_python(raw)
        except forms.ValidationError:
            return None

    def clean_ip_whitelist(self) -> str:
        return normalise_ip_allow_list(self.cleaned_data["ip_whitelist"])

    def _post_clean(self) -> None:
        # Leave the instance as it was read: the service applies the changes to a fresh, locked
        # row and runs the model's own validation there (uniqueness included), and the stale
        # check compares against what this form was showing.
        pass


class ReplaceAdminForm(forms.Form):
    email = forms.EmailField(
        label="New admin's email",
        error_messages={"invalid": "Enter a full email address, like jane@example.com."},
    )


class DeleteCustomerForm(forms.Form):
    confirm_slug = forms.CharField(label="Type the customer's slug to confirm")

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["confirm_slug"].widget.attrs.update(
            {"data-confirm-text": customer.slug, "autocomplete": "off", "spellcheck": "false"}
        )

    def clean_confirm_slug(self) -> str:
        value = self.cleaned_data["confirm_slug"].strip()
        if value != self.customer.slug:
            raise forms.ValidationError(
                f"That is not the slug. Type “{self.customer.slug}” exactly to delete."
            )
        return value
