"""Online services in the API: list them, and submit to them from external form servers.

``GET /api/v1/services`` and ``GET /api/v1/services/<slug>``: the caller's tenant's
active services. ``POST /api/v1/services/<slug>/submissions``: for admins and
integration accounts; JSON with base64 attachments, or multipart (a ``payload`` JSON
field and files named by document key); an ``Idempotency-Key`` header makes retries
safe. The submission is checked and stored by ``catalogue.submissions.submit``, the
same write path as the hosted form; 201 comes after the commit.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from vorgang.accounts.models import Role, TrustLevel, User
from vorgang.catalogue import validation
from vorgang.catalogue.models import IdempotencyKey, OnlineService
from vorgang.catalogue.processing import expected_days_for
from vorgang.catalogue.submissions import (
    CitizenInput,
    SubmissionInvalid,
    SubmissionTooLarge,
    UploadedDocument,
    submit,
)
from vorgang.portal import links
from vorgang.tickets.models import Ticket

router = Router(tags=["online services"])

FREE_ATTACHMENT_FIELDS = ("attachments", "attachment", "file", "files")


class DocumentOut(Schema):
    key: str
    name_de: str
    name_en: str = ""
    description_de: str = ""
    description_en: str = ""
    accept: list[str]
    max_bytes: int
    required: bool = False
    may_need_translation: bool = False


class ServiceOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    slug: str
    name: str
    name_en: str
    description: str
    description_en: str
    department: str
    leika: str
    schema_: dict[str, Any] = Field(alias="schema")
    ui: dict[str, Any]
    documents: list[dict[str, Any]]
    expected_processing_days: int | None


class SubmissionOut(Schema):
    id: int
    number: str
    case_url: str


class ErrorOut(Schema):
    error: str
    error_human: str
    errors: dict[str, list[str]] | None = None


def _error(
    status: int, error: str, human: str, errors: dict[str, list[str]] | None = None
) -> JsonResponse:
    body: dict[str, Any] = {"error": error, "error_human": human}
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def _not_found(slug: str) -> JsonResponse:
    return _error(
        404,
        "not found",
        _("There is no online service %(slug)s.") % {"slug": repr(slug[:100])},
    )


def _service_out(service: OnlineService, days: int | None) -> dict[str, Any]:
    return {
        "slug": service.slug,
        "name": service.name_de,
        "name_en": service.name_en,
        "description": service.description_de,
        "description_en": service.description_en,
        "department": service.department.name,
        "leika": service.leika,
        "schema": service.schema,
        "ui": service.ui,
        "documents": service.documents,
        "expected_processing_days": days,
    }


def _services(user: User) -> Any:
    return OnlineService.objects.filter(tenant_id=user.tenant_id, active=True).select_related(
        "department"
    )


@router.get(
    "",
    response={200: list[ServiceOut], 401: ErrorOut},
    by_alias=True,
    summary="The active online services of the caller's tenant",
)
def list_services(request: HttpRequest) -> list[dict[str, Any]]:
    services = list(_services(request.auth).order_by("name_de"))  # type: ignore[attr-defined]
    days = expected_days_for(services)
    return [_service_out(s, days[s.pk]) for s in services]


@router.get(
    "/{slug}",
    response={200: ServiceOut, 401: ErrorOut, 404: ErrorOut},
    by_alias=True,
    summary="One online service",
)
def get_service(request: HttpRequest, slug: str) -> Any:
    service = _services(request.auth).filter(slug=slug).first()  # type: ignore[attr-defined]
    if service is None:
        return _not_found(slug)
    return _service_out(service, expected_days_for([service])[service.pk])


# --- submissions ---------------------------------------------------------------------------

SUBMISSION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["citizen", "data"],
                    "properties": {
                        "citizen": {
                            "type": "object",
                            "properties": {
                                "email": {"type": "string"},
                                "firstname": {"type": "string"},
                                "lastname": {"type": "string"},
                                "external_id": {"type": "string"},
                                "trust_level": {"type": "string", "enum": TrustLevel.values},
                            },
                        },
                        "data": {"type": "object"},
                        "attachments": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["filename", "data"],
                                "properties": {
                                    "filename": {"type": "string"},
                                    "data": {"type": "string", "format": "byte"},
                                    "mime-type": {"type": "string"},
                                    "document": {"type": "string"},
                                },
                            },
                        },
                    },
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["payload"],
                    "properties": {
                        "payload": {
                            "type": "string",
                            "description": 'JSON: {"citizen": {...}, "data": {...}}',
                        },
                        "attachments": {
                            "type": "string",
                            "format": "binary",
                            "description": "free attachments; other files are named by "
                            "the key of the document they are",
                        },
                    },
                }
            },
        },
    },
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "The same key for the same service gives the first case back "
            "(200) instead of creating another.",
        }
    ],
}


def max_request_bytes() -> int:
    """The largest request body taken: all files in base64 plus room for the data."""
    return math.ceil(validation.submission_max_bytes() / 3) * 4 + 1024 * 1024


def _submission_out(ticket: Ticket) -> dict[str, Any]:
    return {"id": ticket.pk, "number": ticket.number, "case_url": links.case_url(ticket)}


class _BadRequest(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _invalid(errors: dict[str, list[str]]) -> JsonResponse:
    return _error(422, "invalid data", SubmissionInvalid(errors).message, errors)


@router.post(
    "/{slug}/submissions",
    response={
        200: SubmissionOut,
        201: SubmissionOut,
        **{status: ErrorOut for status in (400, 401, 403, 404, 413, 415, 422)},
    },
    openapi_extra=SUBMISSION_BODY,
    summary="Submit to an online service (admins and integration accounts)",
)
def submit_to_service(request: HttpRequest, slug: str) -> Any:
    user: User = request.auth  # type: ignore[attr-defined]
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "invalid request", _("The Content-Length header is not a number."))
    limit = max_request_bytes()
    if length > limit:
        return _too_large(length)
    if user.role not in (Role.ADMIN, Role.INTEGRATION):
        _drain(request)
        return _error(
            403,
            "forbidden",
            _("Only administrators and integration accounts may submit to online services."),
        )
    service = _services(user).filter(slug=slug).first()
    if service is None:
        _drain(request)
        return _not_found(slug)
    key = request.headers.get("Idempotency-Key", "").strip()
    if key:
        earlier = IdempotencyKey.objects.filter(service=service, key=key[:200]).first()
        if earlier is not None:
            _drain(request)  # a replay is answered without decoding the body again
            return Status(200, _submission_out(earlier.ticket))
    try:
        if request.content_type == "application/json":
            payload, files = _from_json(request, limit)
        elif request.content_type == "multipart/form-data":
            payload, files = _from_multipart(request)
        else:
            return _error(
                415,
                "unsupported media type",
                _("Send application/json or multipart/form-data."),
            )
        citizen = _citizen(payload.get("citizen"))
    except _BadRequest as bad:
        return bad.response
    try:
        result = submit(
            service,
            citizen=citizen,
            data=payload.get("data"),  # type: ignore[arg-type]
            files=files,
            channel="api",
            idempotency_key=key,
            actor=user,
        )
    except SubmissionInvalid as exc:
        renamed = {
            "citizen.first_name": "citizen.firstname",
            "citizen.last_name": "citizen.lastname",
        }
        return _invalid({renamed.get(k, k): v for k, v in exc.errors.items()})
    except SubmissionTooLarge as exc:
        return _error(413, "too large", exc.message)
    return Status(201 if result.created else 200, _submission_out(result.ticket))


def _drain(request: HttpRequest) -> None:
    """Read and drop the body, so that the connection can carry the next request."""
    while request.read(1 << 16):
        pass


def _too_large(size: int) -> JsonResponse:
    limit = validation.submission_max_bytes()
    return _error(
        413,
        "too large",
        _("The submission is too large (%(size)s); the limit for all files is %(limit)s.")
        % {"size": validation.human_size(size), "limit": validation.human_size(limit)},
    )


def _parse_json(raw: bytes | str, where: str) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = (
            f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
            if isinstance(exc, json.JSONDecodeError)
            else "not UTF-8"
        )
        raise _BadRequest(
            _error(
                400,
                "invalid JSON",
                _("The %(where)s is not valid JSON (%(detail)s).")
                % {"where": where, "detail": detail},
            )
        ) from None
    if not isinstance(payload, dict):
        raise _BadRequest(
            _error(
                400, "invalid JSON", _("The %(where)s must be a JSON object.") % {"where": where}
            )
        )
    return payload


def _from_json(request: HttpRequest, limit: int) -> tuple[dict[str, Any], list[UploadedDocument]]:
    # Read the stream directly: request.body would refuse more than
    # DATA_UPLOAD_MAX_MEMORY_SIZE, and this endpoint has its own limit.
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise _BadRequest(_too_large(len(raw)))
    payload = _parse_json(raw, _("request body"))
    attachments = payload.get("attachments", [])
    if attachments is None:
        attachments = []
    if not isinstance(attachments, list):
        raise _BadRequest(_invalid({"attachments": [_("attachments must be a list.")]}))
    files: list[UploadedDocument] = []
    errors: dict[str, list[str]] = {}
    total = 0
    max_bytes = validation.submission_max_bytes()
    for index, item in enumerate(attachments):
        where = f"attachments.{index}"
        if not isinstance(item, dict):
            errors[where] = [_("Each attachment must be an object.")]
            continue
        filename, encoded = item.get("filename"), item.get("data")
        document = item.get("document") or ""
        content_type = item.get("mime-type") or "application/octet-stream"
        if not isinstance(filename, str) or not filename.strip():
            errors.setdefault(where, []).append(_("The attachment needs a file name."))
        if not isinstance(document, str) or not isinstance(content_type, str):
            errors.setdefault(where, []).append(_("document and mime-type must be text."))
        if not isinstance(encoded, str):
            errors.setdefault(f"{where}.data", []).append(
                _("The attachment needs its content as base64 text in data.")
            )
            continue
        compact = "".join(encoded.split())
        total += len(compact) * 3 // 4
        if total > max_bytes:
            raise _BadRequest(_too_large(total))
        try:
            content = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            errors.setdefault(f"{where}.data", []).append(_("data is not valid base64."))
            continue
        if where in errors:
            continue
        files.append(
            UploadedDocument(
                document_key=str(document),
                filename=str(filename),
                content=content,
                content_type=str(content_type),
            )
        )
    if errors:
        raise _BadRequest(_invalid(errors))
    return payload, files


def _from_multipart(request: HttpRequest) -> tuple[dict[str, Any], list[UploadedDocument]]:
    try:
        post, uploaded = request.POST, request.FILES
    except RequestDataTooBig:
        raise _BadRequest(_too_large(int(request.META.get("CONTENT_LENGTH") or 0))) from None
    except TooManyFilesSent:
        raise _BadRequest(
            _error(413, "too large", _("The submission has too many files."))
        ) from None
    except MultiPartParserError as exc:
        raise _BadRequest(
            _error(
                400,
                "invalid request",
                _("The multipart body is broken: %(error)s") % {"error": exc},
            )
        ) from None
    if "payload" not in post:
        raise _BadRequest(
            _error(400, "invalid request", _('A multipart submission needs a "payload" field.'))
        )
    payload = _parse_json(post["payload"], _("payload field"))
    files = []
    for name in uploaded:
        for upload in uploaded.getlist(name):
            files.append(
                UploadedDocument(
                    document_key="" if name in FREE_ATTACHMENT_FIELDS else name,
                    filename=upload.name or "",
                    content=upload.read(),
                    content_type=upload.content_type or "application/octet-stream",
                )
            )
    return payload, files


def _citizen(value: Any) -> CitizenInput:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise _BadRequest(_invalid({"citizen": [_("citizen must be an object.")]}))
    fields = {
        "email": "email",
        "firstname": "first_name",
        "lastname": "last_name",
        "external_id": "external_id",
        "trust_level": "trust_level",
    }
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name, attr in fields.items():
        item = value.get(name)
        if item is None:
            continue
        if not isinstance(item, str):
            errors[f"citizen.{name}"] = [_("%(name)s must be text.") % {"name": name}]
            continue
        values[attr] = item
    if errors:
        raise _BadRequest(_invalid(errors))
    values.setdefault("trust_level", TrustLevel.NONE)
    return CitizenInput(**values)
