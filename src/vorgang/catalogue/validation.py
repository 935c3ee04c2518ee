"""Checks for service definitions (for admins) and for submitted data (for citizens).

A service definition is data: ``schema`` (JSON Schema, draft 2020-12), ``ui`` and
``documents``. The shape of ``ui``::

    {
      "order": ["first_name", "last_name", "birth_date", "address"],
      "fields": {
        "birth_date": {
          "label_de": "Geburtsdatum", "label_en": "Date of birth",
          "help_de": "...", "help_en": "...",
          "widget": "date",
          "messages_de": {"required": "Bitte geben Sie Ihr Geburtsdatum an."},
          "messages_en": {"required": "Please enter your date of birth."}
        },
        "address.postcode": {"label_de": "Postleitzahl", "label_en": "Postcode"},
        "licence_class": {"widget": "choice", "choices_de": {"B": "Pkw (B)"}, "choices_en": {...}}
      },
      "citizen": {"email": "email", "first_name": "first_name", "last_name": "last_name"}
    }

``fields`` is keyed by a top-level property name or ``property.sub`` for a property of
an object property (e.g. the parts of an address). ``messages_de``/``messages_en``
replace the standard message for one kind of error (required, type, format, enum,
minLength, maxLength, pattern, minimum, maximum, minItems, maxItems, const).
``citizen`` names the fields that identify the citizen in the hosted form.

Each ``documents`` entry::

    {"key": "photo", "name_de": "...", "name_en": "...", "description_de": "...",
     "description_en": "...", "accept": ["image/jpeg", ".png"], "max_bytes": 5242880,
     "required": true, "may_need_translation": false}

Messages for citizens come in German and English from the tables below, combined
with the bilingual labels of the service definition; messages for admins (about a
definition) are translated with gettext.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from jsonschema.exceptions import ValidationError as SchemaValidationError
from referencing import Registry

from .models import OnlineService, ProcessingTime, leika_validator

Errors = dict[str, list[str]]

WIDGETS = (
    "text",
    "textarea",
    "number",
    "date",
    "choice",
    "checkbox",
    "email",
    "phone",
    "iban",
    "address",
)
FIELD_KEYS = {
    "label_de",
    "label_en",
    "help_de",
    "help_en",
    "widget",
    "choices_de",
    "choices_en",
    "messages_de",
    "messages_en",
}
MESSAGE_KINDS = {
    "required",
    "type",
    "format",
    "enum",
    "const",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
}
CITIZEN_KEYS = {"email", "first_name", "last_name"}
DOCUMENT_KEYS = {
    "key",
    "name_de",
    "name_en",
    "description_de",
    "description_en",
    "accept",
    "max_bytes",
    "required",
    "may_need_translation",
}
DOCUMENT_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_]{0,99}$")
MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
EXTENSION_RE = re.compile(r"^\.[a-z0-9]{1,10}$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Standard labels of the parts of an address widget (used when the ui names none).
ADDRESS_PARTS = {
    "street": {"de": "Straße und Hausnummer", "en": "Street and house number"},
    "postcode": {"de": "Postleitzahl", "en": "Postcode"},
    "city": {"de": "Ort", "en": "Town or city"},
    "country": {"de": "Staat", "en": "Country"},
}

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def submission_max_bytes() -> int:
    """The limit of all files of one submission together (VORGANG_SUBMISSION_MAX_BYTES)."""
    return int(getattr(settings, "VORGANG_SUBMISSION_MAX_BYTES", DEFAULT_MAX_BYTES))


# --- messages for citizens ------------------------------------------------------------------

MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "de": "Bitte füllen Sie das Feld „{label}“ aus.",
        "en": "Please fill in “{label}”.",
    },
    "required_choice": {
        "de": "Bitte wählen Sie bei „{label}“ etwas aus.",
        "en": "Please choose an option for “{label}”.",
    },
    "confirm": {
        "de": "Bitte bestätigen Sie: „{label}“.",
        "en": "Please confirm: “{label}”.",
    },
    "type_string": {
        "de": "Bitte geben Sie bei „{label}“ einen Text ein.",
        "en": "Please enter text for “{label}”.",
    },
    "type_integer": {
        "de": "Bitte geben Sie bei „{label}“ eine ganze Zahl ein.",
        "en": "Please enter a whole number for “{label}”.",
    },
    "type_number": {
        "de": "Bitte geben Sie bei „{label}“ eine Zahl ein.",
        "en": "Please enter a number for “{label}”.",
    },
    "type_boolean": {
        "de": "Bitte wählen Sie bei „{label}“ Ja oder Nein.",
        "en": "Please choose yes or no for “{label}”.",
    },
    "type_other": {
        "de": "Die Angabe bei „{label}“ hat nicht die erwartete Form.",
        "en": "“{label}” is not in the expected form.",
    },
    "email": {
        "de": "Bitte geben Sie bei „{label}“ eine gültige E-Mail-Adresse ein, "
        "zum Beispiel name@example.org.",
        "en": "Please enter a valid e-mail address for “{label}”, for example name@example.org.",
    },
    "date": {
        "de": "Bitte geben Sie bei „{label}“ ein gültiges Datum ein.",
        "en": "Please enter a valid date for “{label}”.",
    },
    "iban": {
        "de": "Bitte prüfen Sie die IBAN bei „{label}“. Sie ist nicht gültig.",
        "en": "Please check the IBAN in “{label}”. It is not valid.",
    },
    "enum": {
        "de": "Bitte wählen Sie bei „{label}“ eine der angebotenen Möglichkeiten.",
        "en": "Please choose one of the options offered for “{label}”.",
    },
    "minLength": {
        "de": "Bitte geben Sie bei „{label}“ mindestens {n} Zeichen ein.",
        "en": "Please enter at least {n} characters for “{label}”.",
    },
    "maxLength": {
        "de": "Bitte geben Sie bei „{label}“ höchstens {n} Zeichen ein.",
        "en": "Please enter at most {n} characters for “{label}”.",
    },
    "pattern": {
        "de": "Bitte prüfen Sie die Angabe bei „{label}“. Sie hat nicht die erwartete Form.",
        "en": "Please check “{label}”. It is not in the expected form.",
    },
    "minimum": {
        "de": "Bitte geben Sie bei „{label}“ eine Zahl ab {n} ein.",
        "en": "Please enter a number of at least {n} for “{label}”.",
    },
    "maximum": {
        "de": "Bitte geben Sie bei „{label}“ eine Zahl bis {n} ein.",
        "en": "Please enter a number of at most {n} for “{label}”.",
    },
    "exclusiveMinimum": {
        "de": "Bitte geben Sie bei „{label}“ eine Zahl größer als {n} ein.",
        "en": "Please enter a number greater than {n} for “{label}”.",
    },
    "exclusiveMaximum": {
        "de": "Bitte geben Sie bei „{label}“ eine Zahl kleiner als {n} ein.",
        "en": "Please enter a number less than {n} for “{label}”.",
    },
    "minItems": {
        "de": "Bitte geben Sie bei „{label}“ mindestens {n} Einträge an.",
        "en": "Please give at least {n} entries for “{label}”.",
    },
    "maxItems": {
        "de": "Bitte geben Sie bei „{label}“ höchstens {n} Einträge an.",
        "en": "Please give at most {n} entries for “{label}”.",
    },
    "uniqueItems": {
        "de": "Bei „{label}“ steht ein Eintrag doppelt.",
        "en": "“{label}” lists an entry twice.",
    },
    "additional": {
        "de": "Das Feld „{label}“ gehört nicht zu diesem Formular.",
        "en": "The field “{label}” is not part of this form.",
    },
    "control": {
        "de": "Die Angabe bei „{label}“ enthält unzulässige Steuerzeichen. "
        "Bitte geben Sie sie noch einmal ein.",
        "en": "“{label}” contains control characters that are not allowed. Please enter it again.",
    },
    "invalid": {
        "de": "Bitte prüfen Sie die Angabe bei „{label}“.",
        "en": "Please check “{label}”.",
    },
    "not_object": {
        "de": "Die Formulardaten fehlen oder haben nicht die erwartete Form.",
        "en": "The form data is missing or not in the expected form.",
    },
    # documents
    "doc_required": {
        "de": "Bitte laden Sie „{label}“ hoch.",
        "en": "Please upload “{label}”.",
    },
    "doc_type": {
        "de": "Die Datei „{filename}“ hat ein Format, das hier nicht angenommen wird. "
        "Erlaubt sind: {allowed}.",
        "en": "The file “{filename}” is in a format that is not accepted here. Allowed: {allowed}.",
    },
    "doc_content": {
        "de": "Die Datei „{filename}“ ist keine echte {kind}-Datei. "
        "Bitte laden Sie die richtige Datei hoch.",
        "en": "The file “{filename}” is not a real {kind} file. Please upload the right file.",
    },
    "doc_too_big": {
        "de": "Die Datei „{filename}“ ist zu groß ({size}). Erlaubt sind höchstens {max} je Datei.",
        "en": "The file “{filename}” is too large ({size}). The limit is {max} per file.",
    },
    "doc_empty": {
        "de": "Die Datei „{filename}“ ist leer.",
        "en": "The file “{filename}” is empty.",
    },
    "doc_unknown": {
        "de": "Dieses Formular erwartet keine Unterlage „{key}“.",
        "en": "This form does not expect a document “{key}”.",
    },
    "too_large": {
        "de": "Die Unterlagen sind zusammen zu groß ({size}). Erlaubt sind höchstens {max}.",
        "en": "The documents are too large together ({size}). The limit is {max}.",
    },
    "bad_key": {
        "de": "Der Idempotency-Key darf höchstens {n} Zeichen lang sein und keine "
        "Steuerzeichen enthalten.",
        "en": "The idempotency key may have at most {n} characters and no control characters.",
    },
    # the citizen
    "citizen_missing": {
        "de": "Bitte geben Sie Ihre E-Mail-Adresse an.",
        "en": "Please enter your e-mail address.",
    },
    "citizen_email": {
        "de": "Bitte geben Sie eine gültige E-Mail-Adresse an, zum Beispiel name@example.org.",
        "en": "Please enter a valid e-mail address, for example name@example.org.",
    },
    "citizen_trust": {
        "de": "Unbekannte Vertrauensstufe „{value}“. Erlaubt sind: {allowed}.",
        "en": "Unknown trust level “{value}”. Allowed: {allowed}.",
    },
    "citizen_text": {
        "de": "Die Angabe „{label}“ ist zu lang oder enthält unzulässige Zeichen.",
        "en": "“{label}” is too long or contains characters that are not allowed.",
    },
}


def language() -> str:
    """``de`` or ``en``: the language of citizen-facing messages, from the active one."""
    return "en" if (translation.get_language() or "de").startswith("en") else "de"


def message(name: str, lang: str | None = None, **values: Any) -> str:
    lang = lang or language()
    return MESSAGES[name][lang].format(**values)


def human_size(size: int, lang: str | None = None) -> str:
    lang = lang or language()
    if size >= 1024 * 1024:
        text = f"{size / (1024 * 1024):.1f} MB"
    elif size >= 1024:
        text = f"{size / 1024:.0f} KB"
    else:
        text = f"{size} B" if lang == "en" else f"{size} Byte"
    text = text.replace(".0 MB", " MB")
    return text.replace(".", ",") if lang == "de" else text


# --- control characters ------------------------------------------------------------------------

_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def has_control_characters(text: str) -> bool:
    """C0/C1 control characters other than tab and line breaks (NUL, ESC, DEL, ...)."""
    return any(
        unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS for char in text
    )


# --- reading the ui ------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def ui_fields(ui: Any) -> dict[str, dict[str, Any]]:
    return {str(k): _dict(v) for k, v in _dict(_dict(ui).get("fields")).items()}


def _readable(key: str) -> str:
    text = key.replace("_", " ").strip() or key
    return text[:1].upper() + text[1:]


def _schema_at(schema: Any, path: Iterable[str | int]) -> dict[str, Any]:
    """The subschema of ``schema`` for a data path (properties and array items only)."""
    node = _dict(schema)
    for part in path:
        if isinstance(part, int):
            node = _dict(node.get("items"))
        else:
            node = _dict(_dict(node.get("properties")).get(part))
    return node


def field_label(service: OnlineService, path: Iterable[str | int], lang: str | None = None) -> str:
    """The label of the field at ``path`` in ``lang``.

    From the ui, else the schema's ``title``, else (for the parts of an address) the
    standard label, else the key made readable. A part of a group is named with its
    group ("Neue Anschrift: Postleitzahl"), an entry of a list with its number.
    """
    lang = lang or language()
    parts = list(path)
    if not parts:
        return service.name_de if lang == "de" else (service.name_en or service.name_de)
    last = parts[-1]
    if isinstance(last, int):
        return f"{field_label(service, parts[:-1], lang)} ({last + 1})"
    fields = ui_fields(service.ui)
    key = ".".join(p for p in parts if isinstance(p, str))
    spec = fields.get(key, {})
    label = spec.get(f"label_{lang}") or spec.get("label_de")
    if not label:
        label = _schema_at(service.schema, parts).get("title")
    if (
        not label
        and len(parts) > 1
        and last in ADDRESS_PARTS
        and widget_of(service, parts[:-1]) == "address"
    ):
        label = ADDRESS_PARTS[last][lang]
    label = str(label) if label else _readable(last)
    if len(parts) == 1:
        return label
    return f"{field_label(service, parts[:-1], lang)}: {label}"


def _custom_message(
    service: OnlineService, path: list[str | int], kind: str, lang: str
) -> str | None:
    key = ".".join(p for p in path if isinstance(p, str))
    spec = ui_fields(service.ui).get(key, {})
    messages = _dict(spec.get(f"messages_{lang}"))
    found = messages.get(kind)
    return str(found) if isinstance(found, str) and found else None


def field_key(path: Iterable[str | int]) -> str:
    """``("address", "postcode")`` -> ``"address.postcode"``; the root is ``"data"``."""
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "data"


def widget_of(service: OnlineService, path: Iterable[str | int]) -> str:
    key = ".".join(p for p in path if isinstance(p, str))
    return str(ui_fields(service.ui).get(key, {}).get("widget") or "")


# --- validating submitted data --------------------------------------------------------------------


def _is_email(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not ISO_DATE_RE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_iban(value: object) -> bool:
    if not isinstance(value, str):
        return True
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        IBAN(value)
    except (SchwiftyException, ValueError):
        return False
    return True


FORMATS = FormatChecker(formats=())
FORMATS.checks("email")(_is_email)
FORMATS.checks("date")(_is_date)
FORMATS.checks("iban")(is_iban)

# Remote ``$ref``s are never fetched: validation makes no network requests.
_NO_REMOTE: Registry[Any] = Registry()


def data_validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FORMATS, registry=_NO_REMOTE)


def validate_data(service: OnlineService, data: Any, lang: str | None = None) -> Errors:
    """Plain-language errors per field (``{"birth_date": ["Bitte ..."]}``); empty if valid."""
    lang = lang or language()
    errors: Errors = {}

    def add(path: list[str | int], kind: str, **values: Any) -> None:
        text = _custom_message(service, path, _custom_kind(kind), lang)
        if text is None:
            text = message(kind, lang, label=field_label(service, path, lang), **values)
        bucket = errors.setdefault(field_key(path), [])
        if text not in bucket:
            bucket.append(text)

    if not isinstance(data, dict):
        errors["data"] = [message("not_object", lang)]
        return errors
    for path, _text in _control_characters(data):
        add(path, "control")
    validator = data_validator(service.schema)
    for error in validator.iter_errors(data):
        _map_error(service, error, add)
    for key, spec in ui_fields(service.ui).items():
        if spec.get("widget") != "iban":
            continue
        iban_path: list[str | int] = list(key.split("."))
        value: Any = data
        for part in iban_path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip() and not is_iban(value):
            add(iban_path, "iban")
    return errors


def _custom_kind(kind: str) -> str:
    if kind in ("required_choice", "confirm"):
        return "required"
    if kind.startswith("type_"):
        return "type"
    if kind in ("email", "date", "iban"):
        return "format"
    return kind


def _control_characters(
    value: Any, path: list[str | int] | None = None
) -> list[tuple[list[str | int], str]]:
    path = path or []
    found: list[tuple[list[str | int], str]] = []
    if isinstance(value, str):
        if has_control_characters(value):
            found.append((path, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(_control_characters(item, [*path, str(key)]))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_control_characters(item, [*path, index]))
    return found


def _map_error(service: OnlineService, error: SchemaValidationError, add: Any) -> None:
    path: list[str | int] = list(error.absolute_path)
    kind = str(error.validator)
    value = error.validator_value
    if kind == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        for name in value:
            if name not in instance:
                add([*path, name], _required_kind(service, [*path, name]))
        return
    if kind == "type":
        expected = value if isinstance(value, str) else (value[0] if value else "")
        if error.instance is None:
            add(path, _required_kind(service, path))
        elif expected in ("string", "integer", "number", "boolean"):
            add(path, f"type_{expected}")
        else:
            add(path, "type_other")
        return
    if kind == "format":
        add(path, value if value in ("email", "date", "iban") else "invalid")
        return
    if kind == "enum":
        if error.instance in (None, ""):
            add(path, "required_choice")
        else:
            add(path, "enum")
        return
    if kind == "const":
        add(path, "confirm" if value is True else "enum")
        return
    if kind == "minLength":
        if value == 1 or error.instance == "":
            add(path, _required_kind(service, path))
        else:
            add(path, "minLength", n=value)
        return
    if kind in ("maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        add(path, kind, n=value)
        return
    if kind in ("minItems", "maxItems"):
        if kind == "minItems" and error.instance == []:
            add(path, _required_kind(service, path))
        else:
            add(path, kind, n=value)
        return
    if kind == "pattern":
        add(path, "pattern")
        return
    if kind == "uniqueItems":
        add(path, "uniqueItems")
        return
    if kind in ("additionalProperties", "unevaluatedProperties"):
        allowed = _dict(_schema_at(service.schema, path).get("properties"))
        instance = error.instance if isinstance(error.instance, dict) else {}
        for name in instance:
            if name not in allowed:
                add([*path, str(name)], "additional")
        return
    add(path, "invalid")


def _required_kind(service: OnlineService, path: list[str | int]) -> str:
    widget = widget_of(service, path)
    subschema = _schema_at(service.schema, path)
    if widget == "checkbox" or subschema.get("const") is True:
        return "confirm"
    if widget == "choice" or "enum" in subschema:
        return "required_choice"
    return "required"


# --- readable summary ------------------------------------------------------------------------------


def _display_value(service: OnlineService, path: list[str | int], value: Any, lang: str) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        if lang == "de":
            return "ja" if value else "nein"
        return "yes" if value else "no"
    key = ".".join(p for p in path if isinstance(p, str))
    spec = ui_fields(service.ui).get(key, {})
    choices = _dict(spec.get(f"choices_{lang}")) or _dict(spec.get("choices_de"))
    if isinstance(value, list):
        return ", ".join(_display_value(service, path, v, lang) for v in value) or "—"
    if isinstance(value, str) and str(value) in choices:
        return str(choices[value])
    schema = _schema_at(service.schema, path)
    if (
        lang == "de"
        and isinstance(value, str)
        and (spec.get("widget") == "date" or schema.get("format") == "date")
        and _is_date(value)
    ):
        return date.fromisoformat(value).strftime("%d.%m.%Y")
    return str(value)


def ordered_keys(
    service: OnlineService, data: Mapping[str, Any], path: list[str | int]
) -> list[str]:
    """The keys of ``data`` (the object at ``path``) in form order.

    At the top the ui's ``order`` decides, in an address its parts' usual order; then
    the schema's order, then whatever else there is. (PostgreSQL does not keep the key
    order of JSON objects, so only ``order`` is certain.)
    """
    order: list[str] = []
    if not path:
        order += [k for k in _dict(service.ui).get("order", []) if isinstance(k, str)]
    elif widget_of(service, path) == "address":
        order += list(ADDRESS_PARTS)
    order += [str(k) for k in _dict(_schema_at(service.schema, path).get("properties"))]
    order += [str(k) for k in data]
    return list(dict.fromkeys(k for k in order if k in data))


def labelled_rows(
    service: OnlineService, data: Any, lang: str | None = None
) -> list[tuple[str, str]]:
    """(label, value) rows of submitted data, labelled and ordered as the form shows them."""
    lang = lang or language()
    rows: list[tuple[str, str]] = []

    def walk(path: list[str | int], value: Any) -> None:
        if isinstance(value, dict) and (value or not path):
            for key in ordered_keys(service, value, path):
                walk([*path, key], value[key])
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            for index, item in enumerate(value):
                walk([*path, index], item)
        else:
            label = field_label(service, path, lang)
            rows.append((label, _display_value(service, path, value, lang)))

    walk([], data if isinstance(data, dict) else {})
    return rows


# --- validating a definition (for admins and the import) ------------------------------------------


def definition_errors(service: OnlineService) -> Errors:
    """What is wrong with a service definition, by model field; empty if it is sound."""
    errors: Errors = {}

    def add(field: str, text: str) -> None:
        errors.setdefault(field, []).append(text)

    if service.leika:
        try:
            leika_validator(service.leika)
        except ValidationError as exc:
            add("leika", " ".join(str(m) for m in exc.messages))
    if (
        service.department_id is not None
        and service.tenant_id is not None
        and service.department.tenant_id != service.tenant_id
    ):
        add("department", _("The department belongs to another tenant."))
    if service.tenant_id is not None and service.slug:
        taken = OnlineService.objects.filter(tenant_id=service.tenant_id, slug=service.slug)
        if service.pk is not None:
            taken = taken.exclude(pk=service.pk)
        if taken.exists():
            add(
                "slug",
                _("Another online service has the short name %(slug)s.") % {"slug": service.slug},
            )
    if service.processing_time not in ProcessingTime.values:
        add("processing_time", _("Use 'fixed' or 'computed'."))

    schema_ok = True
    for text in schema_errors(service.schema):
        add("schema", text)
        schema_ok = False
    if schema_ok:
        for text in ui_errors(service.ui, service.schema):
            add("ui", text)
    for text in document_errors(service.documents):
        add("documents", text)
    return errors


def schema_errors(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return [_("The schema must be a JSON object.")]
    declared = schema.get("$schema")
    if declared is not None and "2020-12" not in str(declared):
        return [
            _("The schema declares %(declared)s; use JSON Schema draft 2020-12.")
            % {"declared": declared}
        ]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        return [
            _("The schema is not valid JSON Schema (draft 2020-12) at %(where)s: %(error)s")
            % {"where": where, "error": exc.message}
        ]
    found = []
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        found.append(_('The schema must describe an object ("type": "object") with "properties".'))
    for ref in _refs(schema):
        if not ref.startswith("#"):
            found.append(
                _("The schema refers to %(ref)s; only references within the schema (#...) work.")
                % {"ref": ref}
            )
    return found


def _refs(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("$ref", "$dynamicRef") and isinstance(item, str):
                found.append(item)
            else:
                found.extend(_refs(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_refs(item))
    return found


def _property_paths(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``name`` and ``name.sub`` for the properties and their object properties."""
    paths: dict[str, dict[str, Any]] = {}
    for name, sub in _dict(schema.get("properties")).items():
        sub = _dict(sub)
        paths[name] = sub
        for inner, inner_schema in _dict(sub.get("properties")).items():
            paths[f"{name}.{inner}"] = _dict(inner_schema)
    return paths


def ui_errors(ui: Any, schema: dict[str, Any]) -> list[str]:
    if ui in (None, {}):
        return []
    if not isinstance(ui, dict):
        return [_("The form layout must be a JSON object.")]
    found: list[str] = []
    unknown = sorted(set(ui) - {"order", "fields", "citizen"})
    if unknown:
        found.append(
            _("The form layout has unknown keys: %(keys)s (known: order, fields, citizen).")
            % {"keys": ", ".join(unknown)}
        )
    paths = _property_paths(schema)
    top = _dict(schema.get("properties"))
    order = ui.get("order", [])
    if not isinstance(order, list) or not all(isinstance(k, str) for k in order):
        found.append(_('"order" must be a list of field names.'))
    else:
        for name in order:
            if name not in top:
                found.append(
                    _('"order" names %(name)s, which is not a property of the schema.')
                    % {"name": repr(name)}
                )
        if len(set(order)) != len(order):
            found.append(_('"order" names a field twice.'))
    fields = ui.get("fields", {})
    if not isinstance(fields, dict):
        found.append(_('"fields" must be an object keyed by field name.'))
        fields = {}
    for name, spec in fields.items():
        if name not in paths:
            found.append(
                _('"fields" describes %(name)s, which is not a property of the schema.')
                % {"name": repr(name)}
            )
            continue
        if not isinstance(spec, dict):
            found.append(
                _("The field %(name)s must be described by an object.") % {"name": repr(name)}
            )
            continue
        found.extend(_field_errors(name, spec, paths[name]))
    citizen = ui.get("citizen", {})
    if not isinstance(citizen, dict):
        found.append(_('"citizen" must be an object.'))
    else:
        for role, name in citizen.items():
            if role not in CITIZEN_KEYS:
                found.append(
                    _('"citizen" has an unknown key %(key)s (known: email, first_name, last_name).')
                    % {"key": repr(role)}
                )
            elif not isinstance(name, str) or name not in top:
                found.append(
                    _('"citizen" names %(name)s, which is not a property of the schema.')
                    % {"name": repr(name)}
                )
    return found


def _field_errors(name: str, spec: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    found: list[str] = []
    unknown = sorted(set(spec) - FIELD_KEYS)
    if unknown:
        found.append(
            _("The field %(name)s has unknown keys: %(keys)s.")
            % {"name": repr(name), "keys": ", ".join(unknown)}
        )
    for key in FIELD_KEYS - {"widget", "choices_de", "choices_en", "messages_de", "messages_en"}:
        if key in spec and not isinstance(spec[key], str):
            found.append(
                _("%(key)s of the field %(name)s must be text.") % {"key": key, "name": repr(name)}
            )
    widget = spec.get("widget")
    kind = schema.get("type")
    if widget is not None:
        if widget not in WIDGETS:
            found.append(
                _("The field %(name)s has an unknown widget %(widget)s (known: %(known)s).")
                % {"name": repr(name), "widget": repr(widget), "known": ", ".join(WIDGETS)}
            )
        elif not _widget_fits(widget, schema):
            found.append(
                _("The widget %(widget)s does not fit the field %(name)s of type %(type)s.")
                % {"widget": widget, "name": repr(name), "type": kind or "?"}
            )
    enum = schema.get("enum") or _dict(schema.get("items")).get("enum") or []
    for key in ("choices_de", "choices_en"):
        if key not in spec:
            continue
        choices = spec[key]
        if not isinstance(choices, dict) or not all(isinstance(v, str) for v in choices.values()):
            found.append(
                _("%(key)s of the field %(name)s must map values to labels.")
                % {"key": key, "name": repr(name)}
            )
            continue
        for value in choices:
            if value not in [str(v) for v in enum]:
                found.append(
                    _(
                        "%(key)s of the field %(name)s names %(value)s, which the schema does not offer."
                    )
                    % {"key": key, "name": repr(name), "value": repr(value)}
                )
    for key in ("messages_de", "messages_en"):
        if key not in spec:
            continue
        messages = spec[key]
        if not isinstance(messages, dict) or not all(isinstance(v, str) for v in messages.values()):
            found.append(
                _("%(key)s of the field %(name)s must map kinds of error to texts.")
                % {"key": key, "name": repr(name)}
            )
            continue
        for kind_name in messages:
            if kind_name not in MESSAGE_KINDS:
                found.append(
                    _("%(key)s of the field %(name)s names an unknown kind of error %(kind)s.")
                    % {"key": key, "name": repr(name), "kind": repr(kind_name)}
                )
    return found


def _widget_fits(widget: str, schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if widget in ("text", "textarea", "email", "phone", "iban", "date"):
        return kind in (None, "string")
    if widget == "number":
        return kind in (None, "integer", "number")
    if widget == "checkbox":
        return kind in (None, "boolean")
    if widget == "choice":
        return "enum" in schema or "enum" in _dict(schema.get("items"))
    if widget == "address":
        return kind == "object" and "street" in _dict(schema.get("properties"))
    return True


def document_errors(documents: Any) -> list[str]:
    if documents in (None, []):
        return []
    if not isinstance(documents, list):
        return [_("The documents must be a JSON list.")]
    found: list[str] = []
    keys: set[str] = set()
    limit = submission_max_bytes()
    for index, entry in enumerate(documents, start=1):
        where = _("Document %(number)s") % {"number": index}
        if not isinstance(entry, dict):
            found.append(_("%(where)s must be an object.") % {"where": where})
            continue
        key = entry.get("key")
        if isinstance(key, str) and key:
            where = _("Document %(key)s") % {"key": repr(key)}
        unknown = sorted(set(entry) - DOCUMENT_KEYS)
        if unknown:
            found.append(
                _("%(where)s has unknown keys: %(keys)s.")
                % {"where": where, "keys": ", ".join(unknown)}
            )
        if not isinstance(key, str) or not DOCUMENT_KEY_RE.match(key):
            found.append(
                _("%(where)s needs a key of small letters, digits and _ (e.g. birth_certificate).")
                % {"where": where}
            )
        elif key in keys:
            found.append(_("%(where)s: the key is used twice.") % {"where": where})
        else:
            keys.add(key)
        if not isinstance(entry.get("name_de"), str) or not entry.get("name_de", "").strip():
            found.append(_("%(where)s needs a German name (name_de).") % {"where": where})
        for text_key in ("name_en", "description_de", "description_en"):
            if text_key in entry and not isinstance(entry[text_key], str):
                found.append(
                    _("%(where)s: %(key)s must be text.") % {"where": where, "key": text_key}
                )
        accept = entry.get("accept")
        if not isinstance(accept, list) or not accept:
            found.append(
                _(
                    "%(where)s needs a list of accepted file types (accept), e.g. "
                    '["application/pdf", ".jpg"].'
                )
                % {"where": where}
            )
        else:
            for item in accept:
                if not isinstance(item, str) or not (
                    MIME_RE.match(item) or EXTENSION_RE.match(item)
                ):
                    found.append(
                        _(
                            "%(where)s: %(item)s is neither a MIME type (application/pdf) nor a "
                            "file name extension (.pdf)."
                        )
                        % {"where": where, "item": repr(item)}
                    )
        max_bytes = entry.get("max_bytes")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            found.append(
                _("%(where)s needs a maximum size in bytes (max_bytes), a positive whole number.")
                % {"where": where}
            )
        elif max_bytes > limit:
            found.append(
                _(
                    "%(where)s: max_bytes is larger than the limit of a whole submission (%(limit)s bytes)."
                )
                % {"where": where, "limit": limit}
            )
        for flag in ("required", "may_need_translation"):
            if flag in entry and not isinstance(entry[flag], bool):
                found.append(
                    _("%(where)s: %(key)s must be true or false.") % {"where": where, "key": flag}
                )
    return found
