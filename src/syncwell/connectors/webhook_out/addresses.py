"""Refusing to send webhooks into private networks (server-side request forgery).

Whoever can set a webhook URL could otherwise make syncwell POST to the services behind its
firewall (``http://10.0.0.5/admin``, a cloud's metadata address ``169.254.169.254``). The URL's
host is resolved and every address it resolves to must be public, unless the system sets
``allow_private_networks: true``. DNS answers change, so the check runs again on writes once
its last answer is older than `RECHECK_S`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from syncwell.errors import IntegrationFatalError, TransientError
from syncwell.types import Clock

__all__ = ["RECHECK_S", "AddressGuard", "refusal"]

RECHECK_S = 60.0
"""Seconds a public answer is trusted before the host is resolved again."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def refusal(address: IPAddress) -> str | None:
    """Why `address` is not public (``"loopback"``, ``"private"``...), or `None` if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1 on the wire
    for reason, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # Shared (100.64.0.0/10) and other special-purpose ranges are none of the above.
        ("non-public", not address.is_global),
    ):
        if flag:
            return reason
    return None


class AddressGuard:
    """Checks that a URL's host resolves only to public addresses.

    Args:
        system: the system's name, for messages.
        url: the webhook URL.
        allowed: the system's ``allow_private_networks``; when true, nothing is checked.
        clock: when the last answer was had, to know when to ask again.
    """

    def __init__(self, system: str, url: str, *, allowed: bool, clock: Clock) -> None:
        parts = urlsplit(url)
        self._system = system
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._allowed = allowed
        self._clock = clock
        self._checked_at: float | None = None

    async def check(self, *, unresolved_ok: bool = False) -> None:
        """Resolve the host (unless a recent answer stands) and refuse non-public addresses.

        Args:
            unresolved_ok: when the host cannot be resolved, pass instead of failing (at open:
                a DNS hiccup must not stop the engine; the first write resolves again).

        Raises:
            IntegrationFatalError: the host resolves to an address that is not public.
            TransientError: the host could not be resolved.
        """
        if self._allowed:
            return
        now = self._clock.now()
        if self._checked_at is not None and now - self._checked_at < RECHECK_S:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                self._host, self._port, type=socket.SOCK_STREAM
            )
        except OSError as error:  # socket.gaierror and friends
            if unresolved_ok:
                return
            raise TransientError(
                f"cannot resolve {self._host}: {error}", system=self._system
            ) from error
        for info in infos:
            text = str(info[4][0]).partition("%")[0]  # drop an IPv6 zone: fe80::1%eth0
            address = ipaddress.ip_address(text)
            reason = refusal(address)
            if reason is not None:
                raise IntegrationFatalError(
                    f"webhook URL host {self._host} resolves to {address}, a {reason} "
                    "address; webhooks to private networks are refused so that a URL cannot "
                    "reach internal services. If this receiver is meant to be private, set "
                    f"allow_private_networks: true on system {self._system}",
                    system=self._system,
                )
        self._checked_at = now
