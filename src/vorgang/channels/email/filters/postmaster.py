r"""Admin-defined postmaster rules: a header matches → department, priority, tag or ignore.

The tenant's active rules run in order (``position``, then id). A rule looks at
every value of its header (decoded, as the parser read it); ``contains`` compares
case-insensitively, ``regex`` searches with ``re.IGNORECASE`` (write ``(?-i:...)``
for case-sensitive parts). A rule with ``stop`` ends the evaluation when it
matched; ``ignore`` always ends it. Department and priority shape a new case; a
follow-up stays in its case (and keeps its priority), tags are added either way.
Rules run after the recipient is known and before sender and follow-up
detection, so an ignored message makes no citizen record either.

Regular expressions come from admins and run on headers that strangers write,
so they are treated as untrusted. Python's ``re`` has no timeout; the time is
bounded instead by (1) cutting the header value to ``MAX_VALUE`` characters
before matching and (2) refusing expressions with a variable repetition inside
another one (``(a+)+``, ``(\s*x)*``), the shape behind catastrophic
backtracking. An invalid or refused expression never matches and is logged with
the rule's id (never the header); ``regex_problem`` tells the admin form why.
"""

from __future__ import annotations

import logging
import re
import re._parser as sre_parse  # the parser behind ``re``, read-only: a pattern's shape
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _

from vorgang.channels.models import MatchType, PostmasterRule, RuleAction
from vorgang.core import batchcache

from .base import IntakeContext

_POSSESSIVE = (sre_parse.POSSESSIVE_REPEAT,) if hasattr(sre_parse, "POSSESSIVE_REPEAT") else ()

log = logging.getLogger(__name__)

#: characters of a header value that a rule looks at
MAX_VALUE = 1000
#: values of a repeated header (Received, ...) that a rule looks at
MAX_VALUES = 20


_REPEATS = (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, *_POSSESSIVE)


def _nested_repeat(items: Any, in_repeat: bool = False) -> bool:
    """Does the parsed pattern repeat a variable repetition (exponential backtracking)?"""
    for op, av in items:
        if op in _REPEATS:
            low, high, sub = av
            variable = high != low
            if variable and in_repeat:
                return True
            if _nested_repeat(sub, in_repeat or variable):
                return True
        else:
            for child in _subpatterns(av):
                if _nested_repeat(child, in_repeat):
                    return True
    return False


def _subpatterns(value: Any) -> Iterator[Any]:
    if isinstance(value, sre_parse.SubPattern):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _subpatterns(item)


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used in a rule (for the admin form), or None."""
    try:
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
        re.compile(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        return _("The regular expression is invalid: %(error)s") % {"error": str(exc)}
    if _nested_repeat(parsed):
        return _(
            "The regular expression repeats a repetition (like “(a+)+”); "
            "it could take too long on some messages. Please simplify it."
        )
    return None


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str] | None:
    if regex_problem(pattern) is not None:
        return None
    return re.compile(pattern, re.IGNORECASE)


def matches(rule: PostmasterRule, values: list[str]) -> bool:
    values = [value[:MAX_VALUE] for value in values[:MAX_VALUES]]
    if rule.match_type == MatchType.REGEX:
        pattern = _compile(rule.value)
        if pattern is None:
            log.warning("postmaster rule %s has an invalid regular expression", rule.pk)
            return False
        return any(pattern.search(value) for value in values)
    needle = rule.value.casefold()
    if not needle:
        return False
    return any(needle in value.casefold() for value in values)


def apply(ctx: IntakeContext) -> None:
    tenant = ctx.tenant
    if tenant is None or ctx.ignore_reason:
        return
    for rule in _rules(tenant.pk):
        if not matches(rule, ctx.headers(rule.header)):
            continue
        ctx.rules.append(rule.name)
        if rule.action == RuleAction.IGNORE:
            ctx.ignore_reason = _("Ignored by the postmaster rule “%(name)s”.") % {
                "name": rule.name
            }
            return
        _act(ctx, rule)
        if rule.stop:
            return


def _rules(tenant_id: int) -> list[PostmasterRule]:
    """The tenant's active rules in order; read once per batch of the mail worker."""

    def load() -> list[PostmasterRule]:
        return list(
            PostmasterRule.objects.filter(tenant_id=tenant_id, active=True)
            .select_related("department", "priority")
            .order_by("position", "pk")
        )

    return batchcache.memo(("postmaster-rules", tenant_id), load)


def _act(ctx: IntakeContext, rule: PostmasterRule) -> None:
    if rule.action == RuleAction.SET_DEPARTMENT:
        department = rule.department
        if department is None or department.tenant_id != rule.tenant_id or not department.active:
            log.warning("postmaster rule %s names no usable department", rule.pk)
            return
        ctx.department = department
    elif rule.action == RuleAction.SET_PRIORITY:
        if rule.priority is None:
            log.warning("postmaster rule %s names no priority", rule.pk)
            return
        ctx.priority = rule.priority.name
    elif rule.action == RuleAction.ADD_TAG:
        name = " ".join(rule.tag.split())
        if name and name not in ctx.tags:
            ctx.tags.append(name)
