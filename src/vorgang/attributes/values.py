"""Values of custom case attributes: checked and brought into one stored form.

Every writer (the desk form, the API, ``tickets.services``) runs values through
``clean``; what it returns is what ``Ticket.attributes`` stores:

==========  ===================================  =======================================
type        accepted                             stored
==========  ===================================  =======================================
text        a string (trimmed, bounded)          the string
select      one of the option values             the value
multiselect a list of option values              the list, without repeats, in given order
date        ``YYYY-MM-DD``                       the same string
datetime    ISO 8601 with a time zone            UTC, ``YYYY-MM-DDTHH:MM:SS.mmmZ``
boolean     ``true`` or ``false`` (JSON)         the boolean
integer     a JSON integer (not a boolean)       the integer
==========  ===================================  =======================================

``None`` (and an empty string or list) means "not set". Wrong types are refused rather
than guessed at (``"yes"`` is not a boolean, ``"3"`` is not an integer), so an
integration learns about its mistake instead of storing something else than it meant.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import UTC, date, datetime
from typing import Any

from django.db import connections, router
from django.utils.translation import gettext as _

from vorgang.accounts.models import Tenant
from vorgang.core import lookups
from vorgang.core.errors import InvalidInput

from .models import CHOICE_TYPES, CaseAttribute, DataType

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Longer than any ISO 8601 timestamp; keeps the parser from huge strings.
_MAX_DATETIME_TEXT = 40


def definitions(tenant: Tenant | int) -> list[CaseAttribute]:
    """The tenant's active attributes in display order."""
    tenant_id = tenant.pk if isinstance(tenant, Tenant) else tenant
    return lookups.rows(
        CaseAttribute,
        "tenant_id = %s AND active = %s",
        [tenant_id, True],
        order_by="position, name",
    )


def clean(
    tenant: Tenant | int,
    payload: dict[str, Any],
    *,
    partial: bool,
    known: Collection[str],
) -> tuple[dict[str, Any], list[str]]:
    """Check the attribute values in ``payload``; return ``(values, ignored)``.

    Keys in ``known`` belong to the caller (built-in fields) and are skipped. Keys that
    name an active attribute of the tenant are checked and converted; ``None`` in
    ``values`` means "unset". Other keys are returned in ``ignored`` (an inactive
    attribute cannot be written either). Unless ``partial``, missing attributes get
    their default and a required attribute without a value is refused.
    """
    if not isinstance(payload, dict):
        raise InvalidInput(_("Attributes must be a JSON object."))
    by_name = {a.name: a for a in definitions(tenant)}
    values: dict[str, Any] = {}
    ignored: list[str] = []
    for key, raw in payload.items():
        if key in known:
            continue
        attribute = by_name.get(key)
        if attribute is None:
            ignored.append(str(key))
            continue
        values[key] = coerce(attribute, raw)
    for attribute in by_name.values():
        if partial or attribute.name in values or attribute.default is None:
            continue
        values[attribute.name] = coerce(attribute, attribute.default)
    for attribute in by_name.values():
        given = attribute.name in values
        if attribute.required and values.get(attribute.name) is None and (given or not partial):
            raise InvalidInput(_("The attribute %(name)s is required.") % {"name": attribute.name})
    return values, ignored


def coerce(attribute: CaseAttribute, raw: Any) -> Any:
    """One value in its stored form, ``None`` for "not set"; InvalidInput if it does not fit."""
    if raw is None:
        return None
    kind = attribute.data_type
    if kind == DataType.TEXT:
        return _text(attribute, raw)
    if kind == DataType.SELECT:
        return _choice(attribute, raw)
    if kind == DataType.MULTISELECT:
        return _choices(attribute, raw)
    if kind == DataType.DATE:
        return _date(attribute, raw)
    if kind == DataType.DATETIME:
        return _datetime(attribute, raw)
    if kind == DataType.BOOLEAN:
        if not isinstance(raw, bool):
            raise _invalid(attribute, _("must be true or false"))
        return raw
    if kind == DataType.INTEGER:
        return _integer(attribute, raw)
    raise _invalid(attribute, _("has an unknown type"))


class InvalidValue(InvalidInput):
    """A value that does not fit its attribute; ``problem`` says why without naming it
    (for a form that shows the message beside the labelled field)."""

    def __init__(self, attribute: CaseAttribute, problem: str) -> None:
        super().__init__(
            _("The attribute %(name)s %(problem)s.") % {"name": attribute.name, "problem": problem}
        )
        self.problem = problem


def _invalid(attribute: CaseAttribute, problem: str) -> InvalidValue:
    return InvalidValue(attribute, problem)


def _text(attribute: CaseAttribute, raw: Any) -> str | None:
    if not isinstance(raw, str):
        raise _invalid(attribute, _("must be text"))
    value = raw.strip()
    if not value:
        return None
    if "\x00" in value:
        # PostgreSQL cannot store NUL in jsonb; no honest text contains it.
        raise _invalid(attribute, _("contains a NUL character"))
    limit = attribute.text_limit
    if len(value) > limit:
        raise _invalid(attribute, _("may have at most %(count)d characters") % {"count": limit})
    return value


def _option_list(options: Iterable[str]) -> str:
    shown = list(options)
    text = ", ".join(shown[:10])
    return text + (", …" if len(shown) > 10 else "")


def _one_option(attribute: CaseAttribute, raw: Any, options: dict[str, str]) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # option values are strings; a client may send 2 for "2"
    if not isinstance(raw, str) or raw not in options:
        raise _invalid(
            attribute,
            _("must be one of: %(options)s") % {"options": _option_list(options)},
        )
    return raw


def _choice(attribute: CaseAttribute, raw: Any) -> str | None:
    if raw == "":
        return None
    return _one_option(attribute, raw, attribute.option_map)


def _choices(attribute: CaseAttribute, raw: Any) -> list[str] | None:
    if not isinstance(raw, list):
        raise _invalid(attribute, _("must be a list of option values"))
    options = attribute.option_map
    chosen: list[str] = []
    for item in raw:
        value = _one_option(attribute, item, options)
        if value not in chosen:
            chosen.append(value)
    return chosen or None


def _date(attribute: CaseAttribute, raw: Any) -> str | None:
    if raw == "":
        return None
    if isinstance(raw, str) and _DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            pass
    raise _invalid(attribute, _("must be a date as YYYY-MM-DD"))


def format_datetime(value: datetime) -> str:
    """UTC with milliseconds and Z: how datetime values are stored and shown in the API."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _datetime(attribute: CaseAttribute, raw: Any) -> str | None:
    if raw == "":
        return None
    parsed = None
    if isinstance(raw, str) and "T" in raw and len(raw) <= _MAX_DATETIME_TEXT:
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            parsed = None
    if parsed is None:
        raise _invalid(
            attribute, _("must be a date and time in ISO 8601, e.g. 2030-12-31T14:00:00Z")
        )
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _invalid(attribute, _("needs a time zone, e.g. 2030-12-31T14:00:00+01:00"))
    return format_datetime(parsed)


def _integer(attribute: CaseAttribute, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _invalid(attribute, _("must be a whole number"))
    low, high = attribute.bounds
    if not low <= raw <= high:
        raise _invalid(
            attribute,
            _("must lie between %(low)d and %(high)d") % {"low": low, "high": high},
        )
    return raw


# --- output -------------------------------------------------------------------------------


def active_names(tenant_id: int) -> list[str]:
    """The names of the tenant's active attributes in display order (only the names).

    Written as SQL because the API reads them on every request: the ORM spends more
    Python building this query than the database needs to answer it.
    """
    db = router.db_for_read(CaseAttribute)
    table = connections[db].ops.quote_name(CaseAttribute._meta.db_table)
    with connections[db].cursor() as cursor:
        cursor.execute(
            f"SELECT name FROM {table} WHERE tenant_id = %s AND active = %s "  # noqa: S608 - _meta
            "ORDER BY position, name",
            [tenant_id, True],
        )
        return [row[0] for row in cursor.fetchall()]


def as_api(stored: Any, names: Iterable[str]) -> dict[str, Any]:
    """A case's values for output (``stored``: its ``attributes``; ``names`` from
    ``active_names``): every active attribute, ``None`` when unset."""
    stored = stored if isinstance(stored, dict) else {}
    return {name: stored.get(name) for name in names}


def as_text(value: Any) -> str:
    """A stored value as one line of text (for the history)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def display(attribute: CaseAttribute, value: Any) -> str:
    """A stored value for people: option labels instead of values, dates as dates."""
    from django.utils import formats, timezone

    if value is None or value == "" or value == []:
        return "—"
    kind = attribute.data_type
    if kind in CHOICE_TYPES:
        options = attribute.option_map
        values = value if isinstance(value, list) else [value]
        return ", ".join(options.get(str(v), str(v)) for v in values)
    if kind == DataType.BOOLEAN:
        return _("yes") if value else _("no")
    try:
        if kind == DataType.DATE:
            return str(formats.date_format(date.fromisoformat(str(value)), "SHORT_DATE_FORMAT"))
        if kind == DataType.DATETIME:
            moment = timezone.localtime(datetime.fromisoformat(str(value)))
            return str(formats.date_format(moment, "SHORT_DATETIME_FORMAT"))
    except ValueError:
        pass
    return str(value)
