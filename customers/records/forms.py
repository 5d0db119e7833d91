"""The customer record's forms: create, edit (the console's and the portal's), the Danger Zone's
replace-admin and delete, and how a stale edit shows both people's changes."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.http import HttpRequest

from billing.selectors import plans_of
from customers.identity.models import Organization
from customers.people.models import CustomerUser
from customers.people.services.seats import PORTAL_FIELDS
from customers.platform.net import normalise_ip_allow_list
from customers.platform.slugs import SLUG_FROM_NAME_LENGTH, SLUG_LENGTH, slug_from_name
from customers.records.models import Customer, validate_slug_not_uuid
from customers.records.services.records import EDITABLE_FIELDS


def _seat_email(seat: CustomerUser) -> str:
    return seat.user.email


def _choices(form: forms.BaseForm, name: str) -> forms.ModelChoiceField[Any]:
    """A form's model choice field, as its type (``form.fields`` holds plain Fields)."""
    return cast("forms.ModelChoiceField[Any]", form.fields[name])


class CustomerCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="The company's display name.")
    slug = forms.SlugField(
        max_length=SLUG_LENGTH,
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
    plan: forms.ModelChoiceField[Any] = forms.ModelChoiceField(queryset=None, empty_label=None)
    admin_email = forms.EmailField(
        label="Admin email",
        required=False,
        help_text="We email this person an invitation to activate the customer.",
        error_messages={"invalid": "Enter a full email address, like jane@example.com."},
    )
    # Set by the browser while the slug is its preview of the name, cleared once someone edits it.
    slug_suggested = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "plan").queryset = plans_of(organization)
        self.fields["name"].widget.attrs.update(
            {
                "data-slug-source": "id_slug",
                "data-slug-length": SLUG_FROM_NAME_LENGTH,
                "autofocus": True,
            }
        )
        self.fields["slug"].widget.attrs.update({"data-slug-target": "1"})

    def clean_slug(self) -> str:
        # Left empty, the service makes a free slug from the name (customer_create).
        slug = self.cleaned_data["slug"]
        validate_slug_not_uuid(slug)
        return slug

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # A slug nobody chose (the preview of the name) is left to the service, which makes a
        # free one ("acme-2"), as it does for an empty slug without JavaScript.
        suggested = data.pop("slug_suggested", False)
        if suggested and data.get("slug") == slug_from_name(data.get("name", "")):
            data["slug"] = ""
        return data


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
        if "plan" in self.fields:
            plan = _choices(self, "plan")
            plan.queryset = plans_of(customer.organization_id)
            plan.empty_label = None
        seats = CustomerUser.objects.for_customer(customer).select_related("user")
        for name in ("billing_contact", "legal_contact", "security_contact", "technical_contact"):
            contact = _choices(self, name)
            contact.queryset = seats
            contact.empty_label = "— none —"
            # Replacing the method is Django's documented way to label each choice.
            contact.label_from_instance = _seat_email  # type: ignore[method-assign,assignment]  # see above
        if not self.is_bound:
            self.initial["version"] = customer.version
        # Each field carries the value the form was shown with, so a save knows which fields
        # this person changed and never writes back a value someone else has since replaced.
        for name in self.editable_fields:
            self.fields[name].show_hidden_initial = True

    @property
    def editable_fields(self) -> list[str]:
        return [name for name in self.fields if name != "version"]

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


class PortalCustomerForm(CustomerEditForm):
    """What a customer's own admin may change about their customer."""

    class Meta(CustomerEditForm.Meta):
        fields = list(PORTAL_FIELDS)


def _comparable(value: Any) -> Any:
    value = getattr(value, "pk", value)
    return None if value == "" else value


def merge_stale_edit(
    request: HttpRequest, form: CustomerEditForm, current: Customer
) -> tuple[list[dict[str, Any]], CustomerEditForm]:
    """Someone saved since this form was shown. Keep this person's own changes, take the other
    person's for every field this person did not touch, and list what the other person changed.
    The next save is then a deliberate choice made with both in view."""
    mine = set(form.changed_data)
    data = request.POST.copy()
    data["version"] = str(current.version)
    rows = []
    for name in form.editable_fields:
        field = form.fields[name]
        saved = getattr(current, name)
        if _comparable(saved) != _comparable(form.shown_value(name)):
            yours = form.cleaned_data.get(name)
            rows.append(
                {
                    "label": getattr(Customer._meta.get_field(name), "verbose_name", name),
                    "theirs": saved if saved not in (None, "") else "—",
                    "yours": (yours if yours not in (None, "") else "—")
                    if name in mine
                    else "(unchanged: theirs is kept)",
                }
            )
        prepared = field.prepare_value(saved)
        prepared = "" if prepared is None else str(prepared)
        data[form.add_initial_prefix(name)] = prepared
        if name not in mine:
            data[name] = prepared
    merged = type(form)(data, instance=current)
    merged.is_valid()
    return rows, merged
