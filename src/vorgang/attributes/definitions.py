"""Checks of an attribute definition, shared by the configuration admin and the API.

``CaseAttribute.clean`` calls ``definition_errors``; both the admin form and the API
run ``full_clean`` before saving, so a definition is checked the same way wherever
it is written.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

from vorgang.core.errors import InvalidInput

from . import reserved
from .models import (
    CHOICE_TYPES,
    INT_MAX,
    INT_MIN,
    MAX_NAME,
    MAX_OPTION_VALUE,
    MAX_OPTIONS,
    NO_DEFAULT_TYPES,
    TEXT_LIMIT,
    CaseAttribute,
    DataType,
)

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
# Option values appear in forms, exports and the admin's "value = label" lines.
_BAD_OPTION_CHARS = re.compile(r"[\x00-\x1f\x7f=,]")


def name_error(name: str) -> str | None:
    """Why ``name`` cannot name an attribute, or None."""
    if not name:
        return _("An attribute needs a name.")
    if len(name) > MAX_NAME:
        return _("The name may have at most %(count)d characters.") % {"count": MAX_NAME}
    if not NAME_PATTERN.fullmatch(name):
        return _(
            "The name may contain only lowercase letters, digits and _, and must start "
            "with a letter."
        )
    if reserved.is_reserved(name):
        return _(
            "The name %(name)s is taken by a built-in case field or reserved "
            "(names ending in _id or _ids are reserved for relations)."
        ) % {"name": name}
    return None


def definition_errors(attribute: CaseAttribute) -> dict[str, list[str]]:
    """Every problem of the definition, by field name."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    problem = name_error(attribute.name or "")
    if problem:
        add("name", problem)
    elif attribute.tenant_id is not None:
        taken = CaseAttribute.objects.filter(tenant_id=attribute.tenant_id, name=attribute.name)
        if attribute.pk is not None:
            taken = taken.exclude(pk=attribute.pk)
        if taken.exists():
            add(
                "name",
                _("There is already an attribute named %(name)s.") % {"name": attribute.name},
            )
    if attribute.pk is not None:
        before = CaseAttribute.objects.filter(pk=attribute.pk).values("name", "data_type").first()
        if before is not None and before["name"] != attribute.name:
            add(
                "name", _("The name of an attribute cannot change: its values are stored under it.")
            )
        if before is not None and before["data_type"] != attribute.data_type:
            add(
                "data_type",
                _("The type of an attribute cannot change: create a new attribute instead."),
            )
    if not (attribute.label_de or "").strip():
        add("label_de", _("An attribute needs a German label."))
    if attribute.data_type not in DataType.values:
        add("data_type", _("Unknown type %(type)s.") % {"type": repr(attribute.data_type)})
        return errors
    for field, message in _option_errors(attribute):
        add(field, message)
    for field, message in _limit_errors(attribute):
        add(field, message)
    if not errors and attribute.default is not None:
        default_problem = _default_error(attribute)
        if default_problem:
            add("default", default_problem)
    return errors


def _option_errors(attribute: CaseAttribute) -> list[tuple[str, str]]:
    options = attribute.options
    if attribute.data_type not in CHOICE_TYPES:
        if options:
            return [("options", _("Only single and multiple choice attributes have options."))]
        return []
    if not isinstance(options, list) or not options:
        return [("options", _("A choice attribute needs at least one option."))]
    if len(options) > MAX_OPTIONS:
        return [("options", _("At most %(count)d options are possible.") % {"count": MAX_OPTIONS})]
    seen: set[str] = set()
    for item in options:
        if not (
            isinstance(item, list | tuple)
            and len(item) == 2
            and all(isinstance(part, str) for part in item)
        ):
            return [("options", _("Each option needs a value and a label."))]
        value, label = item
        if not value.strip() or value != value.strip() or len(value) > MAX_OPTION_VALUE:
            return [
                (
                    "options",
                    _(
                        "The option value %(value)s must not be empty, start or end with a "
                        "space, or be longer than %(count)d characters."
                    )
                    % {"value": repr(value[:50]), "count": MAX_OPTION_VALUE},
                )
            ]
        if _BAD_OPTION_CHARS.search(value) or "\x00" in label:
            return [
                (
                    "options",
                    _("The option value %(value)s must not contain = , or control characters.")
                    % {"value": repr(value[:50])},
                )
            ]
        if value in seen:
            return [("options", _("The option %(value)s appears twice.") % {"value": repr(value)})]
        seen.add(value)
        if len(label) > 200:
            return [("options", _("An option label may have at most 200 characters."))]
    return []


def _limit_errors(attribute: CaseAttribute) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    kind = attribute.data_type
    if attribute.max_length is not None:
        if kind != DataType.TEXT:
            found.append(("max_length", _("Only text attributes have a maximum length.")))
        elif not 1 <= attribute.max_length <= TEXT_LIMIT:
            found.append(
                (
                    "max_length",
                    _("The maximum length must lie between 1 and %(count)d.")
                    % {"count": TEXT_LIMIT},
                )
            )
    for field in ("min_value", "max_value"):
        bound = getattr(attribute, field)
        if bound is None:
            continue
        if kind != DataType.INTEGER:
            found.append((field, _("Only whole-number attributes have a minimum and maximum.")))
        elif not INT_MIN <= bound <= INT_MAX:
            found.append(
                (
                    field,
                    _("The bound must lie between %(low)d and %(high)d.")
                    % {"low": INT_MIN, "high": INT_MAX},
                )
            )
    if (
        attribute.min_value is not None
        and attribute.max_value is not None
        and attribute.min_value > attribute.max_value
    ):
        found.append(("max_value", _("The maximum must not be less than the minimum.")))
    return found


def _default_error(attribute: CaseAttribute) -> str | None:
    from . import values

    if attribute.data_type in NO_DEFAULT_TYPES:
        return _("Date attributes have no default value.")
    try:
        cleaned = values.coerce(attribute, attribute.default)
    except InvalidInput as err:
        return err.message
    attribute.default = cleaned
    return None


def normalise_options(raw: Any) -> Any:
    """Options as the model stores them, from a value -> label object (API) or pairs."""
    if isinstance(raw, dict):
        return [[key, label] for key, label in raw.items()]
    return raw


# --- writing definitions (the API; the admin saves through its ModelForm) ------------------


def save(attribute: CaseAttribute) -> CaseAttribute:
    """Check the whole definition and store it; InvalidInput names every problem."""
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    try:
        attribute.full_clean(validate_constraints=False)  # uniqueness: definition_errors
    except ValidationError as err:
        raise InvalidInput(_validation_text(err)) from None
    try:
        with transaction.atomic():
            attribute.save()
    except IntegrityError:
        # Two requests created the same name at once; the second loses.
        raise InvalidInput(
            _("There is already an attribute named %(name)s.") % {"name": attribute.name}
        ) from None
    return attribute


def delete(attribute: CaseAttribute) -> None:
    """Delete an attribute no case holds a value for; otherwise say to deactivate it."""
    from django.db import transaction

    with transaction.atomic():
        locked = CaseAttribute.objects.select_for_update().get(pk=attribute.pk)
        if locked.in_use():
            raise InvalidInput(
                _(
                    "Cases hold values for the attribute %(name)s, so it cannot be deleted: "
                    "deactivate it instead (active: false)."
                )
                % {"name": locked.name}
            )
        locked.delete()


def _validation_text(err: Any) -> str:
    if hasattr(err, "message_dict"):
        return " ".join(
            f"{field}: {message}" if field != "__all__" else str(message)
            for field, messages in err.message_dict.items()
            for message in messages
        )
    return " ".join(str(m) for m in err.messages)
