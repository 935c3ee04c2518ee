"""The case attributes on the desk's case view: the table of set values and the edit form.

The form posts every active attribute; the view turns the browser's strings into typed
values (``read_form``), checks each one on its own so every field can show its own
error, and saves through ``tickets.services.set_attributes`` (change level, history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vorgang.accounts import access
from vorgang.accounts.models import AccessLevel
from vorgang.core.errors import NotFound, PermissionDenied, ServiceError
from vorgang.desk.views.actions import explain
from vorgang.desk.views.cases import render_case
from vorgang.desk.views.common import current_user, desk_view
from vorgang.tickets import selectors, services
from vorgang.tickets.models import Ticket

from . import values
from .models import CaseAttribute, DataType

PREFIX = "attr_"
_DATE_PATTERNS = ("%Y-%m-%d", "%d.%m.%Y")
_DATETIME_PATTERNS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y, %H:%M")

Raw = str | list[str]


# --- reading the form ---------------------------------------------------------------------


class _Unreadable(Exception):
    pass


def _typed(attribute: CaseAttribute, raw: Raw) -> Any:
    """The browser's string(s) as the JSON value ``values.coerce`` expects."""
    if isinstance(raw, list):
        return raw
    text = raw.strip()
    kind = attribute.data_type
    if not text:
        return None
    if kind == DataType.BOOLEAN:
        if text not in ("true", "false"):
            raise _Unreadable(_("Please choose yes or no."))
        return text == "true"
    if kind == DataType.INTEGER:
        try:
            return int(text)
        except ValueError:
            raise _Unreadable(_("Please enter a whole number, e.g. 42.")) from None
    if kind == DataType.DATE:
        for pattern in _DATE_PATTERNS:
            try:
                return datetime.strptime(text, pattern).date().isoformat()
            except ValueError:
                continue
        raise _Unreadable(_("Please enter the date as DD.MM.YYYY, e.g. 31.12.2030."))
    if kind == DataType.DATETIME:
        for pattern in _DATETIME_PATTERNS:
            try:
                moment = datetime.strptime(text, pattern)
            except ValueError:
                continue
            aware = timezone.make_aware(moment, timezone.get_current_timezone())
            return aware.isoformat()
        raise _Unreadable(
            _("Please enter the date and time as DD.MM.YYYY HH:MM, e.g. 31.12.2030 14:00.")
        )
    return raw  # text and single choice: as entered


def read_form(
    attributes: list[CaseAttribute], post: QueryDict
) -> tuple[dict[str, Any], dict[str, str], dict[str, Raw]]:
    """``(values, errors by name, raw input by name)`` for the posted attribute form."""
    found: dict[str, Any] = {}
    errors: dict[str, str] = {}
    raw_input: dict[str, Raw] = {}
    for attribute in attributes:
        key = PREFIX + attribute.name
        raw: Raw = (
            post.getlist(key) if attribute.data_type == DataType.MULTISELECT else post.get(key, "")
        )
        raw_input[attribute.name] = raw
        try:
            found[attribute.name] = values.coerce(attribute, _typed(attribute, raw))
        except _Unreadable as err:
            errors[attribute.name] = str(err)
            continue
        except values.InvalidValue as err:
            errors[attribute.name] = _("The value %(problem)s.") % {"problem": err.problem}
            continue
        if attribute.required and found[attribute.name] is None:
            errors[attribute.name] = _("Please fill in this field: it is required.")
    return found, errors, raw_input


# --- the view -----------------------------------------------------------------------------


@desk_view
@require_POST
def edit_attributes(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    ticket = selectors.get_ticket(user, pk)  # NotFound: desk_view shows the 404 page
    if not access.has_level(user, ticket.department_id, AccessLevel.CHANGE):
        messages.error(request, explain(PermissionDenied(""), ticket))
        return render_case(request, user, ticket, status=403)
    attributes = values.definitions(ticket.tenant_id)
    found, errors, raw_input = read_form(attributes, request.POST)
    status = 422
    if not errors:
        try:
            services.set_attributes(user, ticket, found)
        except NotFound:
            raise
        except ServiceError as err:
            messages.error(request, explain(err, ticket))
            status = err.status
        else:
            messages.success(request, _("The attributes were saved."))
            return HttpResponseRedirect(reverse("desk:case", args=[ticket.pk]) + "#attributes")
    else:
        messages.error(
            request, _("The attributes were not saved: please correct the marked fields.")
        )
    response = render_case(request, user, ticket, status=status)
    # The page is rendered lazily: the attribute section reads these from the context.
    response.context_data = {
        **(response.context_data or {}),
        "attribute_errors": errors,
        "attribute_posted": raw_input,
    }
    return response


# --- what the case view shows -------------------------------------------------------------


@dataclass
class FormField:
    attribute: CaseAttribute
    label: str
    value: str = ""
    chosen: list[str] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""

    @property
    def input_name(self) -> str:
        return PREFIX + self.attribute.name

    @property
    def input_id(self) -> str:
        return "attribute-" + self.attribute.name.replace("_", "-")

    @property
    def kind(self) -> str:
        return self.attribute.data_type


def _form_value(attribute: CaseAttribute, stored: Any) -> Raw:
    """A stored value as the form's input shows it."""
    if stored is None:
        return [] if attribute.data_type == DataType.MULTISELECT else ""
    kind = attribute.data_type
    if kind == DataType.MULTISELECT:
        return [str(v) for v in stored] if isinstance(stored, list) else []
    if kind == DataType.BOOLEAN:
        return "true" if stored else "false"
    if kind == DataType.DATETIME:
        try:
            moment = timezone.localtime(datetime.fromisoformat(str(stored)))
        except ValueError:
            return str(stored)
        return moment.strftime("%Y-%m-%dT%H:%M")
    if kind == DataType.DATE:
        try:
            return date.fromisoformat(str(stored)).isoformat()
        except ValueError:
            return str(stored)
    return str(stored)


def case_context(
    ticket: Ticket,
    *,
    errors: dict[str, str] | None = None,
    posted: dict[str, Raw] | None = None,
) -> dict[str, Any]:
    """Rows of the set values and the fields of the edit form, labels in the active language."""
    errors = errors or {}
    posted = posted or {}
    stored = ticket.attributes if isinstance(ticket.attributes, dict) else {}
    rows: list[tuple[str, str]] = []
    fields: list[FormField] = []
    for attribute in values.definitions(ticket.tenant_id):
        label = attribute.label()
        current = stored.get(attribute.name)
        if current is not None:
            rows.append((label, values.display(attribute, current)))
        shown = posted.get(attribute.name, _form_value(attribute, current))
        fields.append(
            FormField(
                attribute=attribute,
                label=label,
                value=shown if isinstance(shown, str) else "",
                chosen=shown if isinstance(shown, list) else [],
                options=list(attribute.option_map.items()),
                error=errors.get(attribute.name, ""),
            )
        )
    return {"rows": rows, "fields": fields, "has_errors": bool(errors)}
