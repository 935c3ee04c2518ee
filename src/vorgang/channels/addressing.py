"""Department addresses and their ``+token`` sub-addresses.

``fuehrerschein@stadt.example`` is a department's address; a reply address of a
case is ``fuehrerschein+<reply token>@stadt.example``.
"""

from __future__ import annotations

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
