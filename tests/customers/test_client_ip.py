from __future__ import annotations

import pytest
from django.test import RequestFactory

from customers.platform.net import client_ip


@pytest.mark.parametrize(
    ("hops", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.1", "1.1.1.1", "203.0.113.1"),  # no proxies: the header is ignored
        (1, "10.0.0.1", "1.1.1.1, 203.0.113.2", "203.0.113.2"),  # rightmost hop only
        (2, "10.0.0.1", "6.6.6.6, 203.0.113.3, 10.0.0.9", "203.0.113.3"),
        (1, "10.0.0.1", "", "10.0.0.1"),  # header missing: the peer
        (1, "::ffff:203.0.113.4", "", "203.0.113.4"),  # IPv4-mapped IPv6 normalised
        (1, "10.0.0.1", "garbage", None),
        (0, "2001:db8::1", "", "2001:db8::1"),
    ],
)
def test_client_ip(settings, hops, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = hops
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
