"""Running a macro on a case: each action one call of ``tickets.services``.

The agent must be allowed to change the case at all, or nothing happens. Then each
action runs on its own (its own transaction, permission check and history entry):
one that is refused, e.g. an owner without full access in the department, is
reported and the others still apply. The outcome lists every step for the summary
the agent sees. The text (note or reply) comes first and the department last,
because after a move the agent may no longer change the case.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils.translation import gettext as _

from vorgang.accounts.models import AccessLevel, Department, User
from vorgang.core import clock
from vorgang.core.errors import InvalidInput, NotFound, ServiceError
from vorgang.tickets import services
from vorgang.tickets.models import ArticleKind, Priority, Ticket

from . import rendering, schema, selectors
from .models import Macro


@dataclass(frozen=True)
class Step:
    what: str
    ok: bool
    reason: str = ""


@dataclass
class Outcome:
    macro: Macro
    steps: list[Step] = field(default_factory=list)

    @property
    def done(self) -> list[Step]:
        return [s for s in self.steps if s.ok]

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.steps if not s.ok]

    def summary(self) -> str:
        parts = [
            _("Macro “%(name)s”:") % {"name": self.macro.name},
        ]
        if self.done:
            parts.append(_("done: %(steps)s.") % {"steps": "; ".join(s.what for s in self.done)})
        if self.failed:
            parts.append(
                _("not done: %(steps)s.")
                % {"steps": "; ".join(f"{s.what} ({s.reason})" for s in self.failed)}
            )
        return " ".join(parts)


def available(user: User, ticket: Ticket, macro_id: int | str) -> Macro:
    try:
        pk = int(macro_id)
    except (TypeError, ValueError):
        raise NotFound(_("Unknown macro.")) from None
    found = selectors.macros(user, ticket).filter(pk=pk).first()
    if found is None:
        raise NotFound(_("Unknown macro."))
    return found


def apply_macro(user: User, ticket: Ticket, macro: Macro) -> Outcome:
    """Apply ``macro``'s actions to ``ticket`` as ``user``; see the module docstring."""
    services.require(user, ticket, AccessLevel.CHANGE)  # nothing at all without it
    if macro.tenant_id != ticket.tenant_id:
        raise NotFound(_("Unknown macro."))
    actions = macro.actions if isinstance(macro.actions, dict) else {}
    outcome = Outcome(macro)

    def run(what: str, call: Callable[[], object]) -> None:
        try:
            call()
        except ServiceError as err:
            outcome.steps.append(Step(what, False, err.message))
        else:
            outcome.steps.append(Step(what, True))

    if "text_module" in actions:
        as_reply = actions.get("text_as") == "reply"
        what = _("reply sent") if as_reply else _("note added")
        run(what, lambda: _write_text(user, ticket, str(actions["text_module"]), as_reply))
    for name in actions.get("tags_add") or []:
        run(
            _("tag “%(tag)s” added") % {"tag": name},
            functools.partial(services.tag, user, ticket, name),
        )
    for name in actions.get("tags_remove") or []:
        run(
            _("tag “%(tag)s” removed") % {"tag": name},
            functools.partial(services.untag, user, ticket, name),
        )
    if "priority" in actions:
        value = actions["priority"]
        run(
            _("priority “%(priority)s”") % {"priority": value},
            lambda: services.set_priority(user, ticket, _priority(value)),
        )
    if "owner" in actions:
        value = str(actions["owner"])
        run(_("owner “%(owner)s”") % {"owner": value}, lambda: _assign(user, ticket, value))
    if "state" in actions:
        value = str(actions["state"])
        days = actions.get("pending_days")
        run(
            _("state “%(state)s”") % {"state": value},
            lambda: _change_state(user, ticket, value, days),
        )
    if "department" in actions:
        value = str(actions["department"])
        run(
            _("department “%(department)s”") % {"department": value},
            lambda: _move(user, ticket, value),
        )
    return outcome


def _priority(value: object) -> Priority:
    found = schema.find_priority(value) if isinstance(value, str | int) else None
    if found is None:
        raise InvalidInput(_("Unknown priority %(name)s.") % {"name": repr(value)})
    return found


def _assign(user: User, ticket: Ticket, value: str) -> None:
    owner: User | None
    if value == "me":
        owner = user
    elif value == "none":
        owner = None
    else:
        owner = User.objects.filter(tenant_id=ticket.tenant_id, username=value).first()
        if owner is None:
            raise InvalidInput(_("Unknown agent %(name)s.") % {"name": repr(value)})
    services.assign(user, ticket, owner)


def _change_state(user: User, ticket: Ticket, value: str, days: object) -> None:
    state = schema.find_state(value)
    if state is None:
        raise InvalidInput(_("Unknown state %(name)s.") % {"name": repr(value)})
    pending = None
    if state.is_pending:
        count = days if isinstance(days, int) and not isinstance(days, bool) else 0
        if count < 1:
            raise InvalidInput(_("A waiting state needs pending_days."))
        pending = clock.now() + timedelta(days=count)
    services.change_state(user, ticket, state, pending_until=pending)


def _move(user: User, ticket: Ticket, name: str) -> None:
    department = Department.objects.filter(tenant_id=ticket.tenant_id, name=name).first()
    if department is None:
        raise InvalidInput(_("Unknown department %(name)s.") % {"name": repr(name)})
    services.move(user, ticket, department)


def _write_text(user: User, ticket: Ticket, name: str, as_reply: bool) -> None:
    module = selectors.text_modules(user, ticket).filter(name=name).first()
    if module is None:
        raise InvalidInput(
            _("The text module %(name)s is not offered here.") % {"name": repr(name)}
        )
    fresh = Ticket.objects.select_related("citizen", "department", "service").get(pk=ticket.pk)
    body = rendering.render(
        module.body_for(rendering.citizen_language(fresh)), rendering.values_for(fresh, user)
    )
    if as_reply:
        from vorgang.channels.email import outbound

        outbound.reply(user, fresh, body=body)
    else:
        services.add_article(
            user, fresh, services.ArticleInput(body=body, kind=ArticleKind.NOTE, internal=True)
        )
