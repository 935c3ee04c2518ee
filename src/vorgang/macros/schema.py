"""The fixed shape of a macro's actions, checked when an administrator saves one.

A macro is a JSON object; each key is one change. Keys not listed here are refused,
so a typo cannot silently do nothing. Names (states, priorities, departments, logins,
text modules) are checked against the tenant when the macro is saved, and again when
it runs (something may have been renamed in between).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from vorgang.accounts.models import Department, User
from vorgang.tickets.models import Priority, State, StateKind

TEXT_AS = ("note", "reply")
MAX_PENDING_DAYS = 365
MAX_TAGS = 20
MAX_TAG = 100

# key -> what it holds (for the error message)
ACTIONS: dict[str, str] = {
    "state": "state name",
    "pending_days": "whole number of days",
    "priority": "priority name or level",
    "owner": '"me", "none" or a login',
    "department": "department name",
    "tags_add": "list of tags",
    "tags_remove": "list of tags",
    "text_module": "text module name",
    "text_as": '"note" or "reply"',
}


def find_state(name: str) -> State | None:
    return (
        State.objects.filter(Q(name=name) | Q(kind=name), active=True)
        .exclude(kind=StateKind.MERGED)
        .order_by("pk")
        .first()
    )


def find_priority(value: str | int) -> Priority | None:
    if isinstance(value, int) or str(value).isdigit():
        return Priority.objects.filter(level=int(value)).first()
    return Priority.objects.filter(name=value).first()


def _tags(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= MAX_TAGS
        and all(isinstance(v, str) and v.strip() and len(v) <= MAX_TAG for v in value)
    )


def validate(actions: Any, tenant_id: int) -> list[str]:
    """What is wrong with ``actions`` for the tenant (empty when it is fine)."""
    from .models import TextModule

    if not isinstance(actions, dict):
        return [_("The actions must be a JSON object.")]
    if not actions:
        return [_("The macro does nothing: give at least one action.")]
    errors: list[str] = []
    unknown = sorted(set(actions) - set(ACTIONS))
    if unknown:
        errors.append(
            _("Unknown actions: %(names)s. Known are: %(known)s.")
            % {"names": ", ".join(unknown), "known": ", ".join(ACTIONS)}
        )
    state = None
    if "state" in actions:
        value = actions["state"]
        state = find_state(value) if isinstance(value, str) else None
        if state is None:
            errors.append(_("Unknown state %(name)s.") % {"name": repr(value)})
    if "pending_days" in actions:
        days = actions["pending_days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_PENDING_DAYS:
            errors.append(
                _("pending_days must be a whole number from 1 to %(max)d.")
                % {"max": MAX_PENDING_DAYS}
            )
    if state is not None and state.is_pending and "pending_days" not in actions:
        errors.append(_("A waiting state needs pending_days (days from when the macro runs)."))
    if "pending_days" in actions and (state is None or not state.is_pending):
        errors.append(_("pending_days only goes with a waiting state."))
    if "priority" in actions:
        value = actions["priority"]
        if not isinstance(value, str | int) or isinstance(value, bool) or not find_priority(value):
            errors.append(_("Unknown priority %(name)s.") % {"name": repr(value)})
    if "owner" in actions:
        value = actions["owner"]
        if not isinstance(value, str) or not (
            value in ("me", "none")
            or User.objects.filter(tenant_id=tenant_id, username=value, is_active=True).exists()
        ):
            errors.append(
                _('The owner must be "me", "none" or the login of an agent: %(name)s.')
                % {"name": repr(value)}
            )
    if "department" in actions:
        value = actions["department"]
        if (
            not isinstance(value, str)
            or not Department.objects.filter(tenant_id=tenant_id, name=value, active=True).exists()
        ):
            errors.append(_("Unknown department %(name)s.") % {"name": repr(value)})
    for key in ("tags_add", "tags_remove"):
        if key in actions and not _tags(actions[key]):
            errors.append(
                _(
                    "%(key)s must be a list of at most %(count)d tags of up to %(length)d characters."
                )
                % {"key": key, "count": MAX_TAGS, "length": MAX_TAG}
            )
    if "text_module" in actions:
        value = actions["text_module"]
        if (
            not isinstance(value, str)
            or not TextModule.objects.filter(tenant_id=tenant_id, name=value).exists()
        ):
            errors.append(_("Unknown text module %(name)s.") % {"name": repr(value)})
    if "text_as" in actions:
        if actions["text_as"] not in TEXT_AS:
            errors.append(_('text_as must be "note" or "reply".'))
        elif "text_module" not in actions:
            errors.append(_("text_as needs a text_module."))
    return errors
