"""Two-factor authentication's writes: a person's TOTP device, confirming it, and each code
checked at sign-in, audited in the same transaction. Signing the session in stays in the view."""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.trail.actions import Action
from audit.trail.services import Outcome, record
from customers.identity.models import User
from customers.people.models import CustomerUser
from customers.platform.errors import Invalid, ServiceError

THROTTLED = "Too many wrong codes in a row: wait a few seconds, then enter the current code."
WRONG_SETUP_CODE = "That code is not right. Check your device's clock and try the current code."
WRONG_CODE = "That code is not right. Try the current code from your app."


class CodeThrottled(ServiceError):
    """django-otp makes the person wait after wrong codes (429)."""


def confirmed_devices(user: User) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True))


def has_two_factor(user: User) -> bool:
    """Whether the person enrolled a device (one EXISTS: the portal's gate asks on each page)."""
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


@transaction.atomic
def device_for_setup(user: User) -> TOTPDevice:
    """The device being set up: the unconfirmed one, or a new one. Its key is what the QR code
    shows, so it stays the same across reloads until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def _passed(seat: CustomerUser | None, user: User, action: Action) -> None:
    if seat is not None and not seat.two_factor_enabled:
        CustomerUser.objects.for_customer(seat.customer).filter(pk=seat.pk).update(
            two_factor_enabled=True
        )
    record(
        action=action,
        organization=seat.customer.organization if seat else None,
        actor=user,
        resource=user,
        resource_type="user",
    )


def two_factor_enable(
    *, user: User, seat: CustomerUser | None, device: TOTPDevice, code: str
) -> TOTPDevice:
    """Confirm the device with a code from it: two-factor is on for this person. The code is
    checked outside the transaction: django-otp saves a wrong code's failure count (which makes
    the next try wait), and the refusal below must not roll that back."""
    if not device.verify_is_allowed()[0]:
        raise CodeThrottled(THROTTLED)
    if not device.verify_token(code.strip()):
        raise Invalid(WRONG_SETUP_CODE)
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        _passed(seat, user, Action.TWO_FACTOR_ENABLED)
    return device


def two_factor_check(
    *, user: User, seat: CustomerUser, code: str, devices: list[TOTPDevice]
) -> TOTPDevice:
    """Which of the person's confirmed ``devices`` the code belongs to, audited as verified; a
    wrong code is audited as a failure (committed, so the refusal below does not roll it back)."""
    if not any(d.verify_is_allowed()[0] for d in devices):
        raise CodeThrottled(THROTTLED)
    device = next((d for d in devices if d.verify_token(code.strip())), None)
    with transaction.atomic():
        if device is None:
            record(
                action=Action.TWO_FACTOR_FAILED,
                organization=seat.customer.organization,
                actor=user,
                resource=user,
                resource_type="user",
                outcome=Outcome.FAILURE,
            )
        else:
            _passed(seat, user, Action.TWO_FACTOR_VERIFIED)
    if device is None:
        raise Invalid(WRONG_CODE)
    return device
