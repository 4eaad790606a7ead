"""SSRF guard for every URL a stranger gives us (sources, fonts, callback URLs).

A URL is checked once: its host is parsed (including the legacy IPv4 spellings
`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1` that resolvers accept), resolved, and
every address is refused if it is not a public unicast one. The caller then connects to
the checked address itself (`Target.request`), with the Host header and TLS SNI set to
the name, so a second DNS answer (rebinding) can never redirect the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""`(host, port) -> addresses`; injectable so tests can make any name resolve anywhere."""

WEB_SCHEMES = frozenset({"http", "https"})

# Instance-metadata endpoints: refused even with ALLOW_PRIVATE_SOURCES (only an explicit
# ALLOWED_SOURCE_HOSTS entry passes), since reaching one leaks cloud credentials.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: IPv4 in the last 32 bits
_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """A URL whose host was checked, and the one address the connection must go to."""

    url: httpx.URL
    address: IPAddress

    def request(self, client: httpx.AsyncClient, method: str, **kwargs: Any) -> httpx.Request:
        """Build a request to the checked address, keeping the name for Host and SNI.

        Send it with redirects off: a Location must go through `check_url` again.
        """
        headers = httpx.Headers(kwargs.pop("headers", None))
        headers["Host"] = self.url.netloc.decode("ascii")
        pinned = self.url.copy_with(host=str(self.address))
        sni = self.url.raw_host.decode("ascii")  # IDNA form, as on the wire
        extensions = {"sni_hostname": sni} if self.url.scheme == "https" else {}
        return client.build_request(method, pinned, headers=headers, extensions=extensions, **kwargs)


def redact(url: str | httpx.URL) -> str:
    """The URL without credentials, query or fragment: safe for logs and error messages
    (presigned query strings are secrets)."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError):
        return "<unparseable URL>"
    netloc = parsed.netloc.decode("ascii")  # host[:port], never the userinfo
    return f"{parsed.scheme}://{netloc}{parsed.path}" if parsed.scheme else "<relative URL>"


class _RedactUrls(logging.Filter):
    """httpx logs every request's full URL at INFO; presigned query strings are secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


logging.getLogger("httpx").addFilter(_RedactUrls())


def parse_ip(host: str) -> IPAddress | None:
    """The address a host string denotes, accepting every IPv4 spelling inet_aton accepts."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_PART.match(p) for p in parts):
        return None
    try:
        numbers = [int(p, _base(p)) for p in parts]
    except ValueError:  # "0x" alone, or "09" (not octal)
        raise ValueError(f"{host!r} is not a valid address") from None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host!r} is not a valid address")
    value = last
    for i, n in enumerate(head):
        value |= n << (24 - 8 * i)
    return ipaddress.IPv4Address(value)


def _base(part: str) -> int:
    if part[:2].lower() == "0x":
        return 16
    return 8 if len(part) > 1 and part[0] == "0" else 10


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address must not be contacted, or None for a public unicast address."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        # A gateway carries these on to the embedded IPv4 address, so that one decides.
        if address.ipv4_mapped:
            return blocked_reason(address.ipv4_mapped)
        if address in _NAT64:
            return blocked_reason(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour and (reason := blocked_reason(address.sixtofour)):
            return reason
        if address.is_site_local:
            return "a site-local address"
    for attr, reason in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, attr):
            return reason
    return None if address.is_global else "a non-public address"


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve through the OS, as a plain connect would."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _refuse(what: str, url: str | httpx.URL, reason: str) -> JobError:
    return JobError(
        ErrorCode.INVALID_INPUT,
        f"{what}: {redact(url)} {reason}; give a public http(s) URL.",
        {"element": what, "url": redact(url)},
    )


async def check_url(
    url: str | httpx.URL,
    settings: Settings,
    what: str,
    *,
    resolver: Resolver = system_resolver,
) -> Target:
    """Check an http(s) URL and pick the address to connect to.

    `what` names the thing the URL belongs to (an element label, "callback_url") in the
    error. Every resolved address must pass: a name answering with one public and one
    private address is refused, since the OS might pick either.
    """
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError):
        raise _refuse(what, "<unparseable URL>", "is not a valid URL") from None
    if parsed.scheme not in WEB_SCHEMES:
        raise _refuse(what, url, f"uses the unsupported scheme {parsed.scheme or '(none)'!r}")
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    if not host:
        raise _refuse(what, url, "has no host")
    if parsed.userinfo:
        raise _refuse(what, url, "carries credentials, which are not accepted in source URLs")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        literal = parse_ip(host)
    except ValueError as exc:
        raise _refuse(what, url, f"has an invalid host ({exc})") from None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            async with asyncio.timeout(settings.network_timeout):
                answers = await resolver(host, port)
        except TimeoutError:
            raise JobError(
                ErrorCode.NETWORK_TIMEOUT,
                f"{what}: looking up the host of {redact(url)} timed out; retry later.",
                {"element": what, "url": redact(url)},
            ) from None
        except (OSError, UnicodeError):
            answers = []
        if not answers:
            raise JobError(
                ErrorCode.SOURCE_DOWNLOAD_FAILED,
                f"{what}: the host of {redact(url)} does not resolve; check the URL.",
                {"element": what, "url": redact(url)},
            )
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
    if host not in settings.allowed_source_hosts:
        for address in addresses:
            reason = blocked_reason(address)
            if reason is None or (settings.allow_private_sources and address not in METADATA_ADDRESSES):
                continue
            raise _refuse(what, url, f"points to {reason} ({address}), which sources may not reach")
    return Target(url=parsed, address=addresses[0])
