"""What counts as this machine, the one check shared by the servers, the load generator and the CLI."""

from __future__ import annotations

import pytest

from selfheal.loopback import is_loopback_host, is_loopback_url


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LocalHost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "8.8.8.8", "localhost.example.com", "127.0.0.1.nip.io", ""],
)
def test_other_hosts_are_refused(host: str) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:4566", True),
        ("http://[::1]:8080/path", True),
        ("https://localhost", True),
        ("http://LOCALHOST:1/", True),
        ("http://0.0.0.0:4566", False),
        ("https://lambda.us-east-1.amazonaws.com", False),
        ("http://127.0.0.1@evil.example.com/", False),
        ("127.0.0.1:4566", False),
        ("", False),
    ],
)
def test_urls_are_judged_by_their_host(url: str, expected: bool) -> None:
    assert is_loopback_url(url) is expected


def test_a_server_refuses_a_non_loopback_bind_before_binding() -> None:
    from selfheal.cloud.serving import require_loopback

    require_loopback("localhost")
    with pytest.raises(ValueError, match="loopback address"):
        require_loopback("0.0.0.0")
