"""Which addresses a feed fetch may connect to, checked on the address actually connected to.

A feed URL, or a redirect a feed server sends, must not make the bot fetch from the cloud
metadata service (169.254.169.254 hands out credentials), from other link-local, multicast,
unspecified or reserved addresses, nor by default from private networks. Loopback stays
allowed: local feeds and the tests use 127.0.0.1 (a hostile DNS name can therefore point at
this machine's own services; that is the accepted price).

How it is enforced (see `netclient._GuardedConnect._new_conn`): the connections of the
fetch client (`netclient.FetchClient`, made by `fetch.make_client()`) resolve the host name
themselves, check *every* resolved address with `refusal()`, and then connect to one of
those checked IP literals, so nothing resolves the name a second time between the check and
the connect (no DNS-rebinding window), and the peer address of the established socket is
checked once more. TLS still verifies the
certificate against the host name of the URL. Because the check sits where sockets are
opened, it applies to the first request and to every redirect hop alike, and odd spellings
of an address (``http://2852039166/``, ``0xa9.0xfe.0xa9.0xfe``, ``[::ffff:169.254.169.254]``)
are judged by what the resolver makes of them, not by their text. IPv4 addresses embedded in
IPv6 (IPv4-mapped, NAT64, 6to4) are judged as the IPv4 address they carry.

Which policy applies comes from the `FETCH_POLICY` context variable that `fetch()` sets from
`[fetch] allow_private`; a client used outside `fetch()` gets the strict default. Pooled
keep-alive connections were checked when opened, so use one client per settings.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
from dataclasses import dataclass

__all__ = [
    "FETCH_POLICY",
    "METADATA_ADDRESSES",
    "METADATA_HOSTNAMES",
    "AddressPolicy",
    "AddressRefused",
    "STRICT_POLICY",
    "check_peer",
    "refusal",
    "resolve_checked",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance-metadata services. Most are link-local anyway; the IPv6 one of AWS sits in
# fc00::/7 and Alibaba's in 100.64/10, so they are named here to stay refused even when
# private ranges are allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IPv6 metadata
        "100.100.100.200",  # Alibaba Cloud
    )
)
# Host names that only ever mean a metadata service: refused before any DNS lookup.
METADATA_HOSTNAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)
# Refused unless [fetch] allow_private = true.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
UNSPECIFIED_V4 = ipaddress.ip_network("0.0.0.0/8")  # "this network": Linux connects locally
NAT64 = ipaddress.ip_network("64:ff9b::/96")

LINK_LOCAL = "link-local/metadata"
PRIVATE = "private"
SPECIAL = "special-purpose"  # documentation, benchmarking, IETF ranges: treated as private


@dataclass(frozen=True)
class AddressPolicy:
    allow_private: bool = False


STRICT_POLICY = AddressPolicy()
FETCH_POLICY: contextvars.ContextVar[AddressPolicy | None] = contextvars.ContextVar(
    "sanctionwatch_fetch_policy", default=None
)


class AddressRefused(Exception):
    """A connection was refused by the address policy (never a network error)."""

    def __init__(self, host: str, address: str | None, category: str) -> None:
        self.host = host
        self.address = address  # the refused address (None when refused by name)
        self.category = category
        super().__init__(self.describe())

    @property
    def fixable(self) -> bool:
        """True when `[fetch] allow_private = true` would have allowed it."""
        return self.category in (PRIVATE, SPECIAL)

    def describe(self, where: str = "connection to") -> str:
        """One line, e.g. ``refused: redirect to 10.0.0.1 (private address); ...``."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        if self.address is None:
            what = f"{self.category} host name"
        elif _same(self.host, self.address):
            what = f"{self.category} address"
        else:
            what = f"resolves to {self.address}, {self.category} address"
        if self.fixable:
            advice = "set [fetch] allow_private = true to fetch from private networks"
        else:
            advice = "set [fetch] allow_private = true only for private ranges"
        return f"refused: {where} {shown} ({what}); {advice}"


def refusal(address: IPAddress, policy: AddressPolicy = STRICT_POLICY) -> str | None:
    """Why a connection to ``address`` is refused (a category), or None when it is allowed."""
    ip = _embedded_v4(address)
    if ip.is_loopback:
        return None
    if ip in METADATA_ADDRESSES or address in METADATA_ADDRESSES or ip.is_link_local:
        return LINK_LOCAL
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified or ip in UNSPECIFIED_V4:
        return "unspecified"
    if ip.is_reserved:  # 240/4 with the broadcast address, IPv6 reserved blocks
        return "reserved/broadcast"
    if any(ip in net for net in PRIVATE_NETWORKS if net.version == ip.version):
        return None if policy.allow_private else PRIVATE
    if not ip.is_global or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return None if policy.allow_private else SPECIAL
    return None


def resolve_checked(host: str, port: int, policy: AddressPolicy) -> list[str]:
    """The addresses of ``host`` as IP literals to connect to, every one of them allowed.

    Raises `AddressRefused` when the name is a metadata name or any resolved address is
    refused (a name that also resolves to a forbidden address is not trusted at all), and
    `socket.gaierror` when the name does not resolve.
    """
    name = host.strip("[]").rstrip(".").lower()
    if name in METADATA_HOSTNAMES:
        raise AddressRefused(host, None, "metadata")
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    literals: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        literal = str(sockaddr[0])
        address = ipaddress.ip_address(literal)
        reason = refusal(address, policy)
        if reason is not None:
            raise AddressRefused(host, _shown(address), reason)
        if literal not in literals:
            literals.append(literal)
    return literals


def check_peer(host: str, peer: object, policy: AddressPolicy) -> None:
    """Check the peer address of an established socket (``getpeername()``) once more."""
    if not isinstance(peer, tuple) or not peer:
        return  # not an IP socket (e.g. a test double): nothing to check
    address = ipaddress.ip_address(str(peer[0]))
    reason = refusal(address, policy)
    if reason is not None:
        raise AddressRefused(host, _shown(address), reason)


def _embedded_v4(address: IPAddress) -> IPAddress:
    """The IPv4 address carried inside an IPv6 one (mapped, NAT64, 6to4), else itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return address


def _shown(address: IPAddress) -> str:
    embedded = _embedded_v4(address)
    return str(embedded) if embedded is not address else str(address)


def _same(host: str, address: str) -> bool:
    try:
        return _shown(ipaddress.ip_address(host.strip("[]"))) == address
    except ValueError:
        return False
