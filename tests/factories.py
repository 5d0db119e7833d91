from __future__ import annotations

import itertools

import factory
from factory.django import DjangoModelFactory

from customers.models import Membership, Organization, User

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class OrganizationFactory(DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"organization-{n}")


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.OWNER


def make_customer(organization, *, actor=None, plan="Free", admin_email="", **fields):
    """A customer made the way the console makes one (service, audit entry, invitation)."""
    from billing.models import Plan
    from customers.services import customer_create

    counter = next(_customer_numbers)
    return customer_create(
        organization=organization,
        actor=actor,
        name=fields.pop("name", f"Customer {counter}"),
        slug=fields.pop("slug", f"customer-{counter}"),
        external_id=fields.pop("external_id", ""),
        plan=Plan.objects.for_organization(organization).get(name=plan),
        admin_email=admin_email,
        **fields,  # anything else is the service's to accept or refuse (a typo fails loudly)
    )


def make_seat(customer, *, role="user", email=None, **fields):
    from customers.models import CustomerUser

    user = UserFactory(**({"email": email} if email else {}))
    return CustomerUser.objects.create(
        organization_id=customer.organization_id,
        customer=customer,
        user=user,
        role=role,
        **fields,
    )


def make_connection(customer, *, app="Shopify", status="connected", **fields):
    from customers.models import Connection

    return Connection.objects.create(
        organization_id=customer.organization_id,
        customer=customer,
        app=app,
        account_label=fields.pop("account_label", f"{customer.slug}.example"),
        status=status,
        **fields,
    )


_customer_numbers = itertools.count(1)
