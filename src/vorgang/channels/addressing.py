"""Department addresses and their ``+token`` sub-addresses.

``fuehrerschein@stadt.example`` is a department's address; a reply address of a
case is ``fuehrerschein+<reply token>@stadt.example``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import getaddresses

from vorgang.accounts.models import Department
from vorgang.core import batchcache


@dataclass(frozen=True)
class Recipient:
    department: Department
    token: str  # the part after "+", or ""


def normalise(address: str) -> str:
    """Lower-case the domain (local parts are case-sensitive in theory, not in practice)."""
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address.lower()
    return f"{local.lower()}@{domain.lower()}"


def resolve(address: str) -> Recipient | None:
    """The active department an address belongs to, with the sub-address token."""
    address = normalise(address)
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return None
    base, plus, token = local.partition("+")
    if batchcache.active():
        # A batch asks for every sender's address too: one query for all departments.
        department = batchcache.memo(("department-addresses",), _all_departments).get(
            f"{base}@{domain}"
        )
    else:
        department = _department_at(base, domain)()
    if department is None:
        return None
    return Recipient(department, token if plus else "")


def _department_at(base: str, domain: str) -> Callable[[], Department | None]:
    def lookup() -> Department | None:
        return (
            Department.objects.filter(email_address__iexact=f"{base}@{domain}", active=True)
            .select_related("tenant")
            .first()
        )

    return lookup


def _all_departments() -> dict[str, Department]:
    """Every active department by its address (lower case), the first by id on a tie."""
    found: dict[str, Department] = {}
    for department in (
        Department.objects.filter(active=True).exclude(email_address="").select_related("tenant")
    ).order_by("pk"):
        found.setdefault(department.email_address.lower(), department)
    return found


class AddressBook:
    """Active departments by address for the listener, kept for ``ttl`` seconds.

    The listener checks every RCPT; asking the database each time cost a query and a
    hop to its database thread per message. ``cached`` answers on the event loop from
    a map of all active departments, loaded at most every ``ttl`` seconds by ``resolve``
    in the database thread. An address the map lacks is always asked for again
    (``resolve``): a department added a moment ago is found at once, never refused with
    a permanent 550. A department deactivated or given another address is noticed
    after at most ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self.loaded_at: float | None = None
        self.by_address: dict[str, Department] = {}

    def fresh(self) -> bool:
        return self.loaded_at is not None and self.clock() - self.loaded_at < self.ttl

    def cached(self, address: str) -> Recipient | None:
        """The recipient from the map if it is fresh and knows the address; else None
        (which means "ask ``resolve``", not "unknown")."""
        if not self.fresh():
            return None
        return _lookup(address, self.by_address.get)

    def resolve(self, address: str) -> Recipient | None:
        """As :func:`resolve`, reloading the map when it is stale (database thread only)."""
        if not self.fresh():
            loaded_at = self.clock()
            self.by_address = _all_departments()  # replaced whole: readers see old or new
            self.loaded_at = loaded_at
        found = _lookup(address, self.by_address.get)
        if found is None:  # added since the map was loaded, or really unknown
            found = resolve(address)
        return found


def _lookup(address: str, department_at: Callable[[str], Department | None]) -> Recipient | None:
    address = normalise(address)
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return None
    base, plus, token = local.partition("+")
    department = department_at(f"{base}@{domain}")
    if department is None:
        return None
    return Recipient(department, token if plus else "")


def reply_address(department: Department, token: str) -> str:
    local, _at, domain = department.email_address.rpartition("@")
    return f"{local}+{token}@{domain}"


def first_known(addresses: list[str]) -> Recipient | None:
    for address in addresses:
        found = resolve(address)
        if found is not None:
            return found
    return None


def parse_list(header_value: str) -> list[str]:
    return [normalise(addr) for _name, addr in getaddresses([header_value or ""]) if "@" in addr]
