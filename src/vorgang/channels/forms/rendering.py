"""From a service's JSON Schema and UI hints to the fields of the hosted form, and back.

``build_fields`` turns ``service.schema`` + ``service.ui`` into a tree of ``Field``
(what the template shows: widget, label, help, required, options, value, errors);
``read_data`` turns the POSTed form back into the JSON object the schema describes
(numbers as numbers, check boxes as booleans, empty fields left out so that the
schema's ``required`` speaks for them).

The UI hints are those of ``vorgang.catalogue.validation`` (``order``, ``fields`` keyed
by ``name`` or ``name.sub`` with ``label_de``/``label_en``, ``help_de``/``help_en``,
``widget``, ``choices_de``/``choices_en``); a missing label falls back to the schema's
``title``, the standard label of an address part, or the key made readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import QueryDict

from vorgang.catalogue.validation import ADDRESS_PARTS

DATA_PREFIX = "data."
RADIO_MAX = 5  # up to this many choices: radio buttons, more: a select list

# Autocomplete tokens (WCAG 1.3.5) for the parts of an address, by property name.
_ADDRESS_AUTOCOMPLETE = {
    "street": "address-line1",
    "postcode": "postal-code",
    "city": "address-level2",
    "country": "country-name",
}


@dataclass
class Field:
    path: str  # dotted: "address.postcode"
    widget: str
    label: str
    help: str = ""
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    value: Any = ""  # a string; True/False for a check box; a list for check boxes
    errors: list[str] = field(default_factory=list)
    autocomplete: str = ""
    maxlength: int | None = None
    minimum: str = ""
    maximum: str = ""
    prefix: str = DATA_PREFIX

    @property
    def name(self) -> str:
        return self.prefix + self.path

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.prefix + self.path)

    @property
    def is_group(self) -> bool:
        return self.widget in ("group", "address")

    @property
    def is_choice_list(self) -> bool:
        return self.widget in ("radio", "checkboxes")

    @property
    def error_id(self) -> str:
        return self.id + "-error"

    @property
    def help_id(self) -> str:
        return self.id + "-help"

    @property
    def describedby(self) -> str:
        ids = []
        if self.help:
            ids.append(self.help_id)
        if self.errors:
            ids.append(self.error_id)
        return " ".join(ids)

    @property
    def focus_id(self) -> str:
        """The element an error link should move the focus to."""
        if self.is_group and self.children:
            return self.children[0].focus_id
        if self.is_choice_list and self.options:
            return f"{self.id}-0"
        return self.id

    def walk(self) -> Iterable[Field]:
        yield self
        for child in self.children:
            yield from child.walk()


# --- hints --------------------------------------------------------------------------------


def _readable(key: str) -> str:
    text = key.replace("_", " ").strip() or key
    return text[:1].upper() + text[1:]


class Hints:
    """Reads the UI hints of one service in one language (``de`` or ``en``)."""

    def __init__(self, ui: Any, language: str) -> None:
        self.ui = ui if isinstance(ui, Mapping) else {}
        fields = self.ui.get("fields")
        self.fields: Mapping[str, Any] = fields if isinstance(fields, Mapping) else {}
        self.language = "en" if language.startswith("en") else "de"

    def spec(self, path: str) -> Mapping[str, Any]:
        found = self.fields.get(path)
        return found if isinstance(found, Mapping) else {}

    def _text(self, path: str, key: str) -> str:
        spec = self.spec(path)
        value = spec.get(f"{key}_{self.language}") or spec.get(f"{key}_de")
        return str(value) if isinstance(value, str) else ""

    def label(self, path: str, schema: Mapping[str, Any], in_address: bool) -> str:
        found = self._text(path, "label") or str(schema.get("title") or "")
        last = path.rpartition(".")[2]
        if not found and in_address and last in ADDRESS_PARTS:
            found = ADDRESS_PARTS[last][self.language]
        return found or _readable(last)

    def help(self, path: str, schema: Mapping[str, Any]) -> str:
        return self._text(path, "help") or str(schema.get("description") or "")

    def widget(self, path: str) -> str:
        return str(self.spec(path).get("widget") or "").strip().lower()

    def option_label(self, path: str, value: Any, fallback: Any) -> str:
        spec = self.spec(path)
        for key in (f"choices_{self.language}", "choices_de"):
            table = spec.get(key)
            if isinstance(table, Mapping) and str(value) in table:
                return str(table[str(value)])
        return str(fallback) if fallback not in (None, "") else _string(value)

    def order(self) -> list[str]:
        order = self.ui.get("order")
        return [str(p) for p in order] if isinstance(order, list) else []


# --- schema to fields -----------------------------------------------------------------------


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind} - {"null"}
    if isinstance(kind, str):
        return {kind}
    if "properties" in schema:
        return {"object"}
    return set()


def _choices(schema: Mapping[str, Any]) -> list[tuple[Any, Any]] | None:
    """(value, schema label) pairs from ``enum`` or ``oneOf``/``anyOf`` of ``const``."""
    if isinstance(schema.get("enum"), list):
        return [(v, None) for v in schema["enum"] if v is not None]
    for key in ("oneOf", "anyOf"):
        items = schema.get(key)
        if (
            isinstance(items, list)
            and items
            and all(isinstance(i, Mapping) and "const" in i for i in items)
        ):
            return [(i["const"], i.get("title")) for i in items]
    return None


def _ordered(properties: Mapping[str, Any], prefix: str, hints: Hints, address: bool) -> list[str]:
    """Top level: the ui's ``order`` first; in an address: its parts' usual order; then
    the schema's order."""
    wanted: list[str] = []
    if not prefix:
        wanted = hints.order()
    elif address:
        wanted = list(ADDRESS_PARTS)
    names = [n for n in wanted if n in properties]
    return list(dict.fromkeys([*names, *properties]))


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def build_fields(
    schema: Any,
    ui: Any,
    language: str,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> list[Field]:
    """The top-level fields of the form, in the order the UI hints give."""
    hints = Hints(ui, language)
    schema = schema if isinstance(schema, Mapping) else {}
    return _object_fields(schema, "", hints, values or {}, errors or {}, address=False)


def _object_fields(
    schema: Mapping[str, Any],
    prefix: str,
    hints: Hints,
    values: Mapping[str, Any],
    errors: Mapping[str, list[str]],
    *,
    address: bool,
) -> list[Field]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return []
    required = set(schema.get("required") or [])
    out = []
    for name in _ordered(properties, prefix, hints, address):
        sub = properties[name]
        if not isinstance(sub, Mapping) or sub.get("readOnly"):
            continue
        path = f"{prefix}.{name}" if prefix else name
        made = _field(sub, path, name in required, hints, values.get(name), errors, address)
        out.append(made)
    return out


def _field(
    schema: Mapping[str, Any],
    path: str,
    required: bool,
    hints: Hints,
    value: Any,
    errors: Mapping[str, list[str]],
    in_address: bool,
) -> Field:
    types = _types(schema)
    widget = hints.widget(path)
    made = Field(
        path=path,
        widget="text",
        label=hints.label(path, schema, in_address),
        help=hints.help(path, schema),
        required=required,
        errors=list(errors.get(path, [])),
    )
    if in_address:
        made.autocomplete = _ADDRESS_AUTOCOMPLETE.get(path.rpartition(".")[2], "")
    if "object" in types:
        made.widget = "address" if widget == "address" else "group"
        nested = value if isinstance(value, Mapping) else {}
        made.children = _object_fields(
            schema, path, hints, nested, errors, address=made.widget == "address"
        )
        return made
    if "array" in types:
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
        item_choices = _choices(items or {}) or []
        made.widget = "checkboxes"
        made.options = [(_string(v), hints.option_label(path, v, t)) for v, t in item_choices]
        made.value = [_string(v) for v in value] if isinstance(value, list) else []
        return made
    choices = _choices(schema)
    if "boolean" in types and not choices:
        made.widget = "checkbox"
        made.value = value is True or value in ("true", "on", "1")
        # A yes/no box: unticked is a valid answer ("no"), so it is not marked as a
        # required field even when the schema requires the key (the form sends false);
        # only "I confirm ..." (const true) must be ticked.
        made.required = required and schema.get("const") is True
        return made
    if schema.get("const") is True:  # "I confirm ...": a check box that must be ticked
        made.widget = "checkbox"
        made.value = value is True or value in ("true", "on", "1")
        return made
    made.value = _string(value)
    if choices is not None:
        made.options = [(_string(v), hints.option_label(path, v, t)) for v, t in choices]
        made.widget = "radio" if len(made.options) <= RADIO_MAX else "select"
        return made
    fmt = str(schema.get("format") or "")
    if widget in ("text", "textarea", "date", "email", "iban"):
        made.widget = widget
    elif widget == "phone":
        made.widget = "tel"
        made.autocomplete = made.autocomplete or "tel"
    elif widget == "number" or types & {"integer", "number"}:
        made.widget = "integer" if types == {"integer"} else "number"
    elif fmt == "date":
        made.widget = "date"
    elif fmt in ("email", "idn-email"):
        made.widget = "email"
    elif fmt == "iban":
        made.widget = "iban"
    elif isinstance(schema.get("maxLength"), int) and schema["maxLength"] > 300:
        made.widget = "textarea"
    if made.widget == "email":
        made.autocomplete = "email"
    elif made.widget == "iban":
        made.autocomplete = "off"
    if isinstance(schema.get("maxLength"), int) and made.widget != "date":
        made.maxlength = schema["maxLength"]
    if made.widget == "date":
        for key, attr in (("formatMinimum", "minimum"), ("formatMaximum", "maximum")):
            if isinstance(schema.get(key), str):
                setattr(made, attr, schema[key])
    return made


def all_fields(fields: Iterable[Field]) -> list[Field]:
    return [f for top in fields for f in top.walk()]


# --- POST to data ---------------------------------------------------------------------------


def read_data(schema: Mapping[str, Any] | None, post: QueryDict) -> dict[str, Any]:
    """The submitted values as the JSON object the schema describes."""
    schema = schema if isinstance(schema, Mapping) else {}
    return _read_object(schema, "", post, True)


def entered_values(schema: Mapping[str, Any] | None, post: QueryDict) -> dict[str, Any]:
    """The submitted values as typed (text stays text), to show the form again."""
    schema = schema if isinstance(schema, Mapping) else {}
    return _read_object(schema, "", post, False)


def _read_object(
    schema: Mapping[str, Any], prefix: str, post: QueryDict, coerce: bool
) -> dict[str, Any]:
    properties = schema.get("properties")
    out: dict[str, Any] = {}
    if not isinstance(properties, Mapping):
        return out
    required = set(schema.get("required") or [])
    for name, sub in properties.items():
        if not isinstance(sub, Mapping) or sub.get("readOnly"):
            continue
        path = f"{prefix}.{name}" if prefix else name
        value = _read_value(sub, path, post, coerce, name in required)
        if value is not None:
            out[name] = value
    return out


def _read_value(
    schema: Mapping[str, Any], path: str, post: QueryDict, coerce: bool, required: bool
) -> Any:
    types = _types(schema)
    key = DATA_PREFIX + path
    if "object" in types:
        nested = _read_object(schema, path, post, coerce)
        # An empty optional group is left out; an empty required one is kept (empty),
        # so that the messages name its missing parts, not the group as a whole.
        return nested if nested or required else None
    if "array" in types:
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
        raw = [v for v in post.getlist(key) if v != ""]
        if not raw:
            return None
        return [_coerce(items or {}, v) for v in raw] if coerce else raw
    if schema.get("const") is True:
        return True if post.get(key) in ("true", "on", "1") else None
    if "boolean" in types and _choices(schema) is None:
        return post.get(key) in ("true", "on", "1")
    raw_value = post.get(key)
    if raw_value is None:
        return None
    raw_value = raw_value.replace("\r\n", "\n")
    if not raw_value.strip():
        return None
    return _coerce(schema, raw_value) if coerce else raw_value


def _coerce(schema: Mapping[str, Any], raw: str) -> Any:
    """Text to the schema's type where it parses; else the text, so the validator can say
    what is wrong with it in words."""
    types = _types(schema)
    choices = _choices(schema)
    if choices is not None:
        for value, _label in choices:
            if _string(value) == raw:
                return value
        return raw
    text = raw.strip() if types & {"integer", "number"} else raw
    if "integer" in types or "number" in types:
        number = _parse_number(text)
        if number is not None:
            if "integer" in types and number == number.to_integral_value():
                return int(number)
            if "number" in types:
                return int(number) if number == number.to_integral_value() else float(number)
        return text
    if "boolean" in types:
        return raw in ("true", "on", "1")
    if schema.get("format") in ("email", "idn-email", "date", "iban"):
        return raw.strip()
    return raw


def _parse_number(text: str) -> Decimal | None:
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")  # 1.234,56
    else:
        cleaned = cleaned.replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
