"""What counts as "this machine" for selfheal's servers and clients: loopback addresses and ``localhost``.

Every local server binds only to a loopback address, the load generator sends only to one unless told
otherwise, and the CLI signs requests to a local cloud on one with the work directory's operator key. They
all ask the same question here. (Checking a request's ``Host`` header is a different job, with ports and
``*.localhost`` names: ``selfheal.cloud.request_guard``.)
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["is_loopback_host", "is_loopback_url"]


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is a loopback IP address (``127.0.0.0/8``, ``::1``) or the name ``localhost``."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def is_loopback_url(url: str) -> bool:
    """Whether ``url``'s host is a loopback address or ``localhost`` (False for a URL without a host)."""
    return is_loopback_host(urlsplit(url).hostname or "")
