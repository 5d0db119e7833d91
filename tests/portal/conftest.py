from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from customers.services import invite_accept
from tests.factories import PASSWORD, UserFactory, make_customer


def invite_token(message) -> str:
    return re.search(r"/invite/([A-Za-z0-9_-]+)/", message.body).group(1)


@pytest.fixture
def invited(org, owner, django_capture_on_commit_callbacks):
    """A fresh customer whose admin invitation sits in the outbox; returns (customer, token)."""
    with django_capture_on_commit_callbacks(execute=True):
        customer = make_customer(
            org, actor=owner, name="John-Acme", slug="john-acme", admin_email="john@acme.ai"
        )
    return customer, invite_token(mail.outbox[-1])


@pytest.fixture
def portal_admin(invited):
    """The accepted customer admin of ``invited``, signed in (seat, client)."""
    customer, _ = invited
    user = UserFactory(email="john@acme.ai")
    seat = invite_accept(invitation=customer.admin_invitation, actor=user)
    client = Client()
    client.force_login(user)
    return seat, client


@pytest.fixture
def other_customer_admin(org, owner):
    """An admin of a second customer of the same organization."""
    customer = make_customer(
        org, actor=owner, name="Widget", slug="widget", admin_email="w@widget.test"
    )
    user = UserFactory(email="w@widget.test")
    seat = invite_accept(invitation=customer.admin_invitation, actor=user)
    client = Client()
    client.force_login(user)
    return seat, client


__all__ = ["PASSWORD"]
