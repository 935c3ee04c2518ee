"""Service definitions as JSON files, so that cities can share them.

One file per service, ``<slug>.json``: the model's fields, the department named by its
e-mail address (the one thing that differs between installations), every other value
verbatim. Keys are written in a fixed order at the top and sorted below it, so the
same definition always gives the same bytes (PostgreSQL does not keep the key order
of JSON values; the form's field order lives in ``ui.order``, a list).

Import creates or updates services by slug, checks every file first and writes
nothing unless all of them are sound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from vorgang.accounts.models import Department, Tenant

from .models import OnlineService

# The file's keys, in the order they are written.
FIELDS = [
    "slug",
    "name_de",
    "name_en",
    "description_de",
    "description_en",
    "leika",
    "department",
    "active",
    "processing_time",
    "processing_days",
    "confirmation_de",
    "confirmation_en",
    "schema",
    "ui",
    "documents",
]
REQUIRED = ["slug", "name_de", "department", "schema"]
TEXT_FIELDS = [
    "slug",
    "name_de",
    "name_en",
    "description_de",
    "description_en",
    "leika",
    "department",
    "processing_time",
    "confirmation_de",
    "confirmation_en",
]


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def to_dict(service: OnlineService) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name == "department":
            values[name] = service.department.email_address
        else:
            values[name] = _sorted(getattr(service, name))
    return values


def dumps(service: OnlineService) -> str:
    return json.dumps(to_dict(service), indent=2, ensure_ascii=False) + "\n"


def export_services(directory: Path, tenant: Tenant) -> list[Path]:
    """Write each of the tenant's services to ``directory/<slug>.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    services = OnlineService.objects.filter(tenant=tenant).select_related("department")
    for service in services.order_by("slug"):
        path = directory / f"{service.slug}.json"
        path.write_text(dumps(service), encoding="utf-8")
        written.append(path)
    return written


class ImportFailed(Exception):
    """One or more files are not sound; ``problems`` names each file and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def from_dict(values: Any, tenant: Tenant) -> OnlineService:
    """The service (new, or the tenant's one with this slug, changed) after every check.

    Raises ValidationError with plain messages; nothing is saved.
    """
    if not isinstance(values, dict):
        raise ValidationError(_("The file must hold a JSON object."))
    problems = []
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        problems.append(
            _("unknown keys %(keys)s (known: %(known)s)")
            % {"keys": ", ".join(unknown), "known": ", ".join(FIELDS)}
        )
    missing = [name for name in REQUIRED if name not in values]
    if missing:
        problems.append(_("missing keys %(keys)s") % {"keys": ", ".join(missing)})
    for name in TEXT_FIELDS:
        if name in values and not isinstance(values[name], str):
            problems.append(_("%(key)s must be text") % {"key": name})
    if "active" in values and not isinstance(values["active"], bool):
        problems.append(_("active must be true or false"))
    days = values.get("processing_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
        problems.append(_("processing_days must be a whole number of days or null"))
    if problems:
        raise ValidationError("; ".join(problems))

    address = values["department"]
    department = Department.objects.filter(tenant=tenant, email_address__iexact=address).first()
    if department is None:
        raise ValidationError(
            _("no department with the address %(address)s in %(tenant)s; create it first")
            % {"address": address, "tenant": tenant.name}
        )
    service = OnlineService.objects.filter(tenant=tenant, slug=values["slug"]).first()
    if service is None:
        service = OnlineService(tenant=tenant)
    defaults = OnlineService()
    for name in FIELDS:
        if name == "department":
            service.department = department
        elif name in values:
            setattr(service, name, values[name])
        else:
            setattr(service, name, getattr(defaults, name))
    service.full_clean()
    return service


def _describe(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
            for name, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def import_services(directory: Path, tenant: Tenant) -> ImportResult:
    """Create or update the tenant's services from ``directory/*.json``: all or nothing."""
    if not directory.is_dir():
        raise ImportFailed([_("%(dir)s is not a directory.") % {"dir": directory}])
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise ImportFailed([_("%(dir)s holds no .json files.") % {"dir": directory}])
    problems: list[str] = []
    checked: list[tuple[Path, OnlineService, bool]] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            values = json.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            problems.append(f"{path.name}: " + _("the file is not UTF-8 text."))
            continue
        except json.JSONDecodeError as exc:
            problems.append(
                f"{path.name}: "
                + _("not valid JSON (line %(line)s, column %(column)s): %(error)s")
                % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}
            )
            continue
        slug = values.get("slug") if isinstance(values, dict) else None
        if isinstance(slug, str) and slug in seen:
            problems.append(
                f"{path.name}: "
                + _("the slug %(slug)s is also in %(other)s.") % {"slug": slug, "other": seen[slug]}
            )
            continue
        try:
            service = from_dict(values, tenant)
        except ValidationError as exc:
            problems.append(f"{path.name}: {_describe(exc)}")
            continue
        seen[service.slug] = path.name
        checked.append((path, service, service.pk is None))
    if problems:
        raise ImportFailed(problems)
    result = ImportResult()
    with transaction.atomic():
        for _path, service, is_new in checked:
            service.save()
            (result.created if is_new else result.updated).append(service.slug)
    return result
