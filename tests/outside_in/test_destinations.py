"""Where webhooks and log streams may go, tried as an attacker would: every spelling of a
private, loopback or metadata address, on every surface (webhook API and console, HTTPS,
Splunk and Datadog streams), at save and again at delivery. None is accepted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from audit.models import LogStream
from audit.streams.delivery import deliver_stream
from audit.streams.services import stream_create
from audit.trail.services import record
from customers.models import WebhookAttempt, WebhookEndpoint
from customers.platform.errors import Invalid
from customers.platform.outbound.safety import blocked
from customers.services import api_token_create
from customers.webhooks.delivery import deliver_now
from customers.webhooks.services import endpoint_create
from tests.api.conftest import ApiClient
from tests.factories import make_customer
from tests.figures import count


def _storable(url: str) -> bool:
    try:
        URLValidator()(url)
    except ValidationError:
        return False
    return True


# host part of a URL -> what it reaches
REFUSED_HOSTS = {
    "127.0.0.1": "loopback",
    "127.1": "loopback, short form",
    "2130706433": "loopback, as one number",
    "0x7f.0.0.1": "loopback, in hex",
    "0.0.0.0": "unspecified",
    "localhost": "loopback by name",
    "10.0.0.5": "private",
    "172.16.3.4": "private",
    "192.168.1.1": "private",
    "100.100.100.200": "shared address space (metadata on some clouds)",
    "169.254.169.254": "link-local metadata",
    "[::1]": "IPv6 loopback",
    "[::]": "IPv6 unspecified",
    "[::ffff:127.0.0.1]": "IPv4-mapped",
    "[::ffff:7f00:1]": "IPv4-mapped, hex",
    "[::ffff:169.254.169.254]": "IPv4-mapped metadata",
    "[::127.0.0.1]": "IPv4-compatible",
    "[::169.254.169.254]": "IPv4-compatible metadata",
    "[::a9fe:a9fe]": "IPv4-compatible metadata, hex",
    "[::10.0.0.1]": "IPv4-compatible private",
    "[::ffff:0:127.0.0.1]": "SIIT (IPv4-translated)",
    "[::ffff:0:a9fe:a9fe]": "SIIT metadata, hex",
    "[64:ff9b::127.0.0.1]": "NAT64 well-known prefix",
    "[64:ff9b::169.254.169.254]": "NAT64 metadata",
    "[64:ff9b::a00:1]": "NAT64 private, hex",
    "[64:ff9b:1::a9fe:a9fe]": "NAT64 local-use prefix",
    "[64:ff9b:1:ffff::1]": "NAT64 local-use prefix, elsewhere in it",
    "[2002:7f00:1::]": "6to4 of loopback",
    "[2002:a9fe:a9fe::1]": "6to4 of metadata",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]": "Teredo",
    "[fe80::1]": "IPv6 link-local",
    "[fc00::1]": "IPv6 unique local",
    "[fd00:ec2::254]": "IPv6 metadata (AWS)",
    "[fec0::1]": "IPv6 site-local",
    "[ff02::1]": "IPv6 multicast",
    "224.0.0.1": "multicast",
    "255.255.255.255": "broadcast",
}
# What a URL field stores at all (127.1, 2130706433 and the like never get that far).
STORABLE = [h for h in REFUSED_HOSTS if h != "localhost" and _storable(f"http://{h}:9/")]
PUBLIC_ADDRESSES = ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_allowed(address):
    assert not blocked(address)


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_webhook_endpoints_refuse_it_at_save(org, owner, settings, host):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(Invalid):
        endpoint_create(organization=org, url=f"https://{host}/hook", actor=owner)
    count("destinations tried")
    assert not WebhookEndpoint.objects.unscoped().exists()


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_the_api_and_the_console_answer_422(org, owner, owner_client, settings, host):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    api = ApiClient(api_token_create(organization=org, name="backend", actor=owner)[1])
    answer = api.post("/webhook-endpoints", {"url": f"https://{host}/hook"})
    assert answer.status_code == 422, answer.content
    form = owner_client.post("/settings/webhooks/", {"url": f"https://{host}/hook"})
    assert form.status_code == 422
    count("destinations tried", 2)
    assert not WebhookEndpoint.objects.unscoped().exists()


@pytest.mark.parametrize("kind", ["https", "splunk", "datadog"])
@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_log_streams_refuse_it_at_save(org, owner, settings, kind, host):
    settings.AUDIT_STREAM_ALLOW_PRIVATE = False
    with pytest.raises(Invalid):
        stream_create(
            organization=org,
            actor=owner,
            kind=kind,
            name="SIEM",
            url=f"https://{host}/intake",
            secret="token",
        )
    count("destinations tried")
    assert not LogStream.objects.unscoped().exists()


@pytest.mark.parametrize("host", STORABLE)
def test_webhooks_refuse_it_at_delivery(org, owner, settings, host):
    """Saved while private addresses were allowed (or its DNS changed since): refused before a
    connection is made."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    endpoint_create(organization=org, url=f"http://{host}:9/hook", actor=owner)
    make_customer(org, actor=owner, name="Probe Co")
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    deliver_now()
    attempt = WebhookAttempt.objects.unscoped().get()
    count("destinations tried")
    assert attempt.status_code is None
    assert "only public addresses" in attempt.error, attempt.error


@pytest.mark.parametrize("host", STORABLE)
def test_log_streams_refuse_it_at_delivery(org, owner, settings, host):
    settings.AUDIT_STREAM_ALLOW_PRIVATE = True
    stream, _ = stream_create(
        organization=org, actor=owner, kind="https", name="SIEM", url=f"https://{host}:9/in"
    )
    settings.AUDIT_STREAM_ALLOW_PRIVATE = False
    record(action="probe", organization=org)
    deliver_stream(stream.pk)
    stream.refresh_from_db()
    count("destinations tried")
    assert "only public addresses" in stream.last_error, stream.last_error
    assert stream.delivered == 0
