"""URL and address policy for everything Clipcast fetches (yt-dlp ingest, watched feeds, publishers, webhooks).

A URL is refused unless its scheme is http or https and every address its host resolves to is public. Cloud
metadata endpoints are refused even when ``ingest.allow_private_addresses`` lets private addresses through
(that switch exists for trusted test setups, not for reaching instance credentials); ``ingest.allowed_networks``
lets chosen private networks through. ``check_url`` is the up-front courtesy check with a clear message; the
control is ``core.egress``, which applies ``refusal_for`` to every address of every connection when it is made.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from core.errors import InputError

ALLOWED_SCHEMES = ("http", "https")
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _refusal(address: Address) -> str | None:
    """Why ``address`` is not a public one, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    )
    for label, hit in checks:
        if hit:
            return label
    if not address.is_global:
        return "non-public"
    return None


def refusal_for(address: Address, host: str, settings: Any) -> str | None:
    """Why Clipcast may not connect to ``address`` (``host`` resolved to it), or None when it may."""
    plain = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped else address
    if plain in METADATA_ADDRESSES:
        return f"{host} is the cloud metadata address {plain}; it is always refused"
    why = _refusal(address)
    if why is None:
        return None
    ingest = settings.ingest if settings is not None else None
    if ingest is not None and (
        ingest.allow_private_addresses
        or any(plain in ipaddress.ip_network(n, strict=False) for n in ingest.allowed_networks)
    ):
        return None
    shown = host if host == str(address) else f"{host} ({address})"
    article = "an" if why[0] in "aeiou" else "a"
    return f"{shown} is {article} {why} address; only public internet addresses may be fetched"


def resolve(host: str, port: int | None) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port or 80, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputError(f"cannot resolve the host {host!r} of the URL ({exc})", "check the address for typos")
    # ``str(...).split('%')``: scoped IPv6 addresses carry an interface suffix.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check_url(url: str, settings: Any) -> str:
    """Return ``url`` if Clipcast may fetch it; raise ``InputError`` saying why not otherwise.

    ``settings`` is the installation's ``Settings`` (reads ``ingest.allow_urls`` and
    ``ingest.allow_private_addresses``).
    """
    ingest = settings.ingest
    if not isinstance(url, str) or not url.strip():
        raise InputError("the URL is empty")
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InputError("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"the URL {url!r} is malformed ({exc})")
    scheme = parts.scheme.lower()
    if scheme == "file":
        raise InputError(
            "file:// URLs are refused: Clipcast never reads local files through a URL",
            "pass the file's path instead (clipcast analyze /path/to/video.mp4)",
        )
    if scheme not in ALLOWED_SCHEMES:
        raise InputError(
            f"unsupported URL scheme {scheme + ':' if scheme else '(none)'!r}; only http:// and https:// URLs "
            "can be ingested",
            "give a web address starting with https://, or a local file path",
        )
    if not ingest.allow_urls:
        raise InputError("URL ingest is disabled on this installation (ingest.allow_urls is false)")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise InputError(f"the URL {url!r} has no host name")
    if host in METADATA_HOSTS or host.endswith(".internal"):
        raise InputError(f"the URL points at {host}, a cloud metadata or internal host; it is always refused")
    for address in resolve(host, port):
        why = refusal_for(address, host, settings)
        if why:
            raise InputError(
                f"the URL's host {why}",
                "set ingest.allow_private_addresses: true only for a trusted local test setup",
            )
    return url
