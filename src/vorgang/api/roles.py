"""Zammad's role ids mapped onto Vorgang's fixed roles.

Zammad has editable roles with ids; Vorgang has four fixed roles on the user
(``accounts.models.Role``). The API shows them with the ids a fresh Zammad uses
(Admin 1, Agent 2, Customer 3) plus Integration 4, so clients that send
``role_ids: [3]`` or ``roles: ["Customer"]`` work unchanged. A Vorgang admin also
works cases, so an admin has ``role_ids`` [1, 2] as in Zammad.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from vorgang.accounts.models import Role, User
from vorgang.core.errors import InvalidInput

ADMIN_ID, AGENT_ID, CUSTOMER_ID, INTEGRATION_ID = 1, 2, 3, 4

# id -> (Zammad's name, Vorgang role, note)
ROLES: dict[int, tuple[str, str, str]] = {
    ADMIN_ID: ("Admin", Role.ADMIN, "To configure the system."),
    AGENT_ID: ("Agent", Role.AGENT, "To work on cases."),
    CUSTOMER_ID: ("Customer", Role.CITIZEN, "Citizens who submit cases."),
    INTEGRATION_ID: ("Integration", Role.INTEGRATION, "Systems that submit online services."),
}

# The combinations of Zammad role ids that one Vorgang role stands for.
_COMBINATIONS: dict[frozenset[int], str] = {
    frozenset({ADMIN_ID}): Role.ADMIN,
    frozenset({ADMIN_ID, AGENT_ID}): Role.ADMIN,
    frozenset({AGENT_ID}): Role.AGENT,
    frozenset({CUSTOMER_ID}): Role.CITIZEN,
    frozenset({INTEGRATION_ID}): Role.INTEGRATION,
}


def role_ids(role: str) -> list[int]:
    """The Zammad role ids of a Vorgang role."""
    if role == Role.ADMIN:
        return [ADMIN_ID, AGENT_ID]
    return [rid for rid, (_name, vorgang_role, _note) in ROLES.items() if vorgang_role == role]


def role_names(role: str) -> list[str]:
    return [ROLES[rid][0] for rid in role_ids(role)]


def user_role_ids(user: User) -> list[int]:
    return role_ids(user.role)


def _one_id(value: Any) -> int:
    """A role id from an id, a Zammad role name or a Vorgang role name."""
    if isinstance(value, bool):
        raise InvalidInput(_("Unknown role %(role)s.") % {"role": repr(value)})
    if isinstance(value, int):
        if value in ROLES:
            return value
    elif isinstance(value, str):
        wanted = value.strip().lower()
        if wanted.isdigit() and int(wanted) in ROLES:
            return int(wanted)
        for rid, (name, vorgang_role, _note) in ROLES.items():
            if wanted in (name.lower(), vorgang_role):
                return rid
    raise InvalidInput(_("Unknown role %(role)s.") % {"role": repr(value)})


def role_from(values: Any) -> str:
    """The Vorgang role for Zammad's ``role_ids`` or ``roles`` (a list of ids or names)."""
    if not isinstance(values, list) or not values:
        raise InvalidInput(_("Roles must be a non-empty list of role ids or names."))
    ids = frozenset(_one_id(v) for v in values)
    role = _COMBINATIONS.get(ids)
    if role is None:
        raise InvalidInput(
            _(
                "Vorgang users have exactly one role: Admin (which includes Agent), "
                "Agent, Customer or Integration."
            )
        )
    return role


def role_out(role_id: int) -> dict[str, Any]:
    name, vorgang_role, note = ROLES[role_id]
    return {
        "id": role_id,
        "name": name,
        "note": note,
        "active": True,
        "default_at_signup": role_id == CUSTOMER_ID,
        "preferences": {},
        "group_ids": {},
        "vorgang_role": vorgang_role,
        "created_at": None,
        "updated_at": None,
    }


def all_roles() -> Iterable[dict[str, Any]]:
    return [role_out(rid) for rid in sorted(ROLES)]
