"""The one way a submission to an online service becomes a case.

``submit()`` is called by the hosted form (channel ``form``) and the submission API
(channel ``api``). It checks the data against the service's schema and the files
against the service's documents, finds or creates the citizen, and creates the case
through ``tickets.services.create_ticket`` in one transaction; the caller answers
"accepted" only after that transaction has committed (docs/adr/0002).

An idempotency key makes retries safe: the same key for the same service gives the
first case back (``created=False``) and stores nothing again. The key is a row with a
unique constraint, inserted in the same transaction as the case; of two concurrent
submissions with one key, the second cannot insert it, rolls back completely and
answers with the first case.
"""

from __future__ import annotations

import mimetypes
import posixpath
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from vorgang.accounts import services as accounts
from vorgang.accounts.models import Role, TrustLevel, User
from vorgang.core.errors import NotFound, ServiceError
from vorgang.tickets import services as tickets
from vorgang.tickets.models import ArticleKind, SenderKind, Ticket
from vorgang.tickets.services import ArticleInput, AttachmentInput

from . import validation
from .models import IdempotencyKey, OnlineService, ProvidedDocument
from .validation import Errors, field_label, labelled_rows, message

TRUST_ORDER = [TrustLevel.NONE, TrustLevel.EMAIL, TrustLevel.SUBSTANTIAL, TrustLevel.HIGH]
KINDS = {"form": ArticleKind.WEB, "api": ArticleKind.API}
MAX_KEY = 200
MAX_NAME = 150
MAX_EXTERNAL_ID = 200

# Types whose content we recognise by its first bytes (magic numbers).
SNIFFABLE = {
    "application/pdf": {"label": "PDF", "extensions": (".pdf",)},
    "image/jpeg": {"label": "JPEG", "extensions": (".jpg", ".jpeg", ".jpe")},
    "image/png": {"label": "PNG", "extensions": (".png",)},
}
# What a free attachment (one not tied to a document of the service) may be.
FREE_ACCEPT = ["application/pdf", "image/jpeg", "image/png"]


@dataclass(frozen=True)
class CitizenInput:
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    external_id: str = ""
    trust_level: str = TrustLevel.NONE


@dataclass(frozen=True)
class UploadedDocument:
    document_key: str  # "" for a free attachment
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class SubmissionResult:
    ticket: Ticket
    created: bool


class SubmissionInvalid(ServiceError):
    """The data, files or citizen do not fit the service; ``errors`` says where and why."""

    status = 422

    def __init__(self, errors: Errors) -> None:
        self.errors = errors
        lang = validation.language()
        lead = (
            "Die Angaben sind unvollständig oder fehlerhaft."
            if lang == "de"
            else "Some entries are missing or wrong."
        )
        details = " ".join(text for texts in errors.values() for text in texts)
        super().__init__(f"{lead} {details}".strip())


class SubmissionTooLarge(ServiceError):
    status = 413


# --- files ------------------------------------------------------------------------------------


def sniff(content: bytes) -> str | None:
    """The MIME type of PDF, JPEG and PNG content from its magic bytes, else None."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    # A PDF's header must be within its first 1024 bytes.
    if b"%PDF-" in content[:1024]:
        return "application/pdf"
    return None


def extension(filename: str) -> str:
    return posixpath.splitext(filename.lower())[1]


def accepted(accept: list[str]) -> tuple[set[str], set[str]]:
    """(MIME types, extensions) that ``accept`` allows; each brings the other's kin."""
    mimes = {a for a in accept if "/" in a}
    extensions = {a for a in accept if a.startswith(".")}
    for mime in list(mimes):
        extensions.update(SNIFFABLE.get(mime, {}).get("extensions", ()))
        guessed = mimetypes.guess_all_extensions(mime)
        extensions.update(guessed)
    for ext in list(extensions):
        for mime, info in SNIFFABLE.items():
            if ext in info["extensions"]:
                mimes.add(mime)
    return mimes, extensions


def allowed_text(accept: list[str]) -> str:
    """``PDF, JPEG, .docx``: the accepted types as a citizen knows them."""
    names: list[str] = []
    for item in accept:
        if item in SNIFFABLE:
            names.append(str(SNIFFABLE[item]["label"]))
        elif item.startswith("."):
            kin = [m for m, info in SNIFFABLE.items() if item in info["extensions"]]
            names.append(str(SNIFFABLE[kin[0]]["label"]) if kin else item)
        else:
            names.append(item)
    return ", ".join(dict.fromkeys(names))


def _clean_filename(name: str) -> str:
    name = "".join(c for c in (name or "") if not validation.has_control_characters(c))
    name = name.replace("/", "_").replace("\\", "_").strip()
    return name[:255] or "datei"


def _content_type(filename: str, sniffed: str | None, given: str) -> str:
    if sniffed:
        return sniffed
    guessed = mimetypes.guess_type(filename)[0]
    return guessed or (given or "application/octet-stream")[:200]


def _check_file(
    upload: UploadedDocument, accept: list[str], max_bytes: int | None, lang: str
) -> list[str]:
    filename = _clean_filename(upload.filename)
    problems: list[str] = []
    if not upload.content:
        return [message("doc_empty", lang, filename=filename)]
    if max_bytes is not None and len(upload.content) > max_bytes:
        problems.append(
            message(
                "doc_too_big",
                lang,
                filename=filename,
                size=validation.human_size(len(upload.content), lang),
                max=validation.human_size(max_bytes, lang),
            )
        )
    mimes, extensions = accepted(accept)
    ext = extension(filename)
    sniffed = sniff(upload.content)
    if ext not in extensions:
        problems.append(message("doc_type", lang, filename=filename, allowed=allowed_text(accept)))
        return problems
    claimed = [m for m, info in SNIFFABLE.items() if ext in info["extensions"]]
    if claimed and sniffed != claimed[0]:
        kind = SNIFFABLE[claimed[0]]["label"]
        problems.append(message("doc_content", lang, filename=filename, kind=kind))
    elif not claimed and sniffed is not None and sniffed not in mimes:
        problems.append(message("doc_type", lang, filename=filename, allowed=allowed_text(accept)))
    return problems


def check_files(service: OnlineService, files: list[UploadedDocument], lang: str) -> Errors:
    """Per document: type (extension and content), size, presence of required ones."""
    total = sum(len(f.content) for f in files)
    limit = validation.submission_max_bytes()
    if total > limit:
        raise SubmissionTooLarge(
            message(
                "too_large",
                lang,
                size=validation.human_size(total, lang),
                max=validation.human_size(limit, lang),
            )
        )
    errors: Errors = {}
    documents = {d["key"]: d for d in service.documents if isinstance(d, dict) and "key" in d}
    for index, upload in enumerate(files):
        if upload.document_key:
            where = f"documents.{upload.document_key}"
            spec = documents.get(upload.document_key)
            if spec is None:
                errors.setdefault(where, []).append(
                    message("doc_unknown", lang, key=upload.document_key[:100])
                )
                continue
            problems = _check_file(
                upload, list(spec.get("accept", [])), spec.get("max_bytes"), lang
            )
        else:
            where = f"attachments.{index}"
            problems = _check_file(upload, FREE_ACCEPT, None, lang)
        for problem in problems:
            if problem not in errors.get(where, []):
                errors.setdefault(where, []).append(problem)
    given = {f.document_key for f in files}
    for key, spec in documents.items():
        if spec.get("required") and key not in given:
            errors.setdefault(f"documents.{key}", []).append(
                message("doc_required", lang, label=document_name(spec, lang))
            )
    return errors


def document_name(spec: dict[str, Any], lang: str) -> str:
    return str(spec.get(f"name_{lang}") or spec.get("name_de") or spec.get("key"))


# --- the citizen ------------------------------------------------------------------------------


def _check_citizen(citizen: CitizenInput, lang: str) -> Errors:
    errors: Errors = {}
    email = (citizen.email or "").strip()
    if not email and not (citizen.external_id or "").strip():
        errors["citizen.email"] = [message("citizen_missing", lang)]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["citizen.email"] = [message("citizen_email", lang)]
    if citizen.trust_level not in TrustLevel.values:
        errors["citizen.trust_level"] = [
            message(
                "citizen_trust",
                lang,
                value=str(citizen.trust_level)[:50],
                allowed=", ".join(TrustLevel.values),
            )
        ]
    labels = {
        "first_name": ("Vorname", "First name", MAX_NAME),
        "last_name": ("Nachname", "Last name", MAX_NAME),
        "external_id": ("Externe Kennung", "External id", MAX_EXTERNAL_ID),
    }
    for name, (de, en, limit) in labels.items():
        value = getattr(citizen, name) or ""
        if len(value) > limit or validation.has_control_characters(value):
            label = de if lang == "de" else en
            errors[f"citizen.{name}"] = [message("citizen_text", lang, label=label)]
    return errors


def _raise_trust(user: User, level: str) -> list[str]:
    """Set the trust level if ``level`` is higher; never lower it."""
    if TRUST_ORDER.index(TrustLevel(level)) > TRUST_ORDER.index(TrustLevel(user.trust_level)):
        user.trust_level = level
        return ["trust_level"]
    return []


def identify_citizen(service: OnlineService, citizen: CitizenInput) -> User:
    """The tenant's citizen with this external id, else with this e-mail address, else new.

    An external id (e.g. a BundID pseudonym) is the stronger identity: a citizen found
    by address but holding another external id is another person (a shared mailbox),
    so a new citizen is created. The e-mail address on file is never replaced, only
    filled in when missing: it is where the case page links go. Trust only rises.
    """
    tenant = service.tenant
    email = (citizen.email or "").strip()
    external_id = (citizen.external_id or "").strip()
    citizens = User.objects.filter(tenant=tenant, role=Role.CITIZEN)
    user: User | None = None
    if external_id:
        user = citizens.filter(external_id=external_id).order_by("pk").first()
        if user is None and email:
            user = citizens.filter(email__iexact=email, external_id="").order_by("pk").first()
            if user is None and citizens.filter(email__iexact=email).exists():
                user = _new_citizen(service, citizen)
    if user is None and email:
        user = accounts.find_or_create_citizen(
            tenant,
            email,
            first_name=citizen.first_name or "",
            last_name=citizen.last_name or "",
            external_id=external_id,
        )
    if user is None:
        user = _new_citizen(service, citizen)
    changed: list[str] = []
    if external_id and not user.external_id:
        user.external_id = external_id
        changed.append("external_id")
    if email and not user.email:
        user.email = email
        changed.append("email")
    for name in ("first_name", "last_name"):
        value = (getattr(citizen, name) or "").strip()
        if value and not getattr(user, name):
            setattr(user, name, value[:MAX_NAME])
            changed.append(name)
    changed += _raise_trust(user, citizen.trust_level)
    if changed:
        user.save(update_fields=changed)
    return user


def _new_citizen(service: OnlineService, citizen: CitizenInput) -> User:
    user = User(
        username=f"citizen-{secrets.token_hex(8)}",
        email=(citizen.email or "").strip(),
        role=Role.CITIZEN,
        tenant=service.tenant,
        first_name=(citizen.first_name or "").strip()[:MAX_NAME],
        last_name=(citizen.last_name or "").strip()[:MAX_NAME],
        external_id=(citizen.external_id or "").strip(),
    )
    user.set_unusable_password()
    user.save()
    return user


def citizen_from_data(service: OnlineService, data: dict[str, Any]) -> CitizenInput:
    """The citizen as the hosted form names them (``ui.citizen`` maps roles to fields)."""
    mapping = validation._dict(validation._dict(service.ui).get("citizen"))

    def value(role: str) -> str:
        name = mapping.get(role)
        found = data.get(name) if isinstance(name, str) else None
        return found.strip() if isinstance(found, str) else ""

    return CitizenInput(
        email=value("email"), first_name=value("first_name"), last_name=value("last_name")
    )


# --- the case -----------------------------------------------------------------------------------


def summary(service: OnlineService, data: dict[str, Any], files: list[UploadedDocument]) -> str:
    """The submission as readable text (German, as the case's title): ``label: value`` lines."""
    lines = [f"Online-Dienst: {service.name_de}", ""]
    for label, value in labelled_rows(service, data, "de"):
        if "\n" in value:
            indented = "\n".join(f"  {line}" for line in value.splitlines())
            lines.append(f"{label}:\n{indented}")
        else:
            lines.append(f"{label}: {value}")
    if files:
        documents = {d.get("key"): d for d in service.documents if isinstance(d, dict)}
        lines += ["", "Unterlagen:"]
        for upload in files:
            spec = documents.get(upload.document_key)
            name = document_name(spec, "de") if spec else "Weitere Datei"
            lines.append(f"- {name}: {_clean_filename(upload.filename)}")
    return "\n".join(lines)


def _title(service: OnlineService, citizen: User) -> str:
    name = citizen.get_full_name() or citizen.email or ""
    return f"{service.name_de}: {name}" if name else service.name_de


def submit(
    service: OnlineService,
    *,
    citizen: CitizenInput,
    data: dict[str, Any],
    files: list[UploadedDocument],
    channel: str,
    idempotency_key: str = "",
    actor: User | None = None,
) -> SubmissionResult:
    """Check a submission and make it a case; see the module's docstring.

    Raises SubmissionInvalid (field -> messages), SubmissionTooLarge, NotFound (an
    inactive service, or one of another tenant than ``actor``'s).
    """
    if channel not in KINDS:
        raise ValueError(f"unknown channel {channel!r}")
    if not service.active or (actor is not None and actor.tenant_id != service.tenant_id):
        raise NotFound(_("Unknown online service."))
    key = (idempotency_key or "").strip()
    if len(key) > MAX_KEY or validation.has_control_characters(key):
        raise SubmissionInvalid({"idempotency_key": [message("bad_key", n=MAX_KEY)]})
    if key:
        earlier = _earlier(service, key)
        if earlier is not None:
            return SubmissionResult(earlier, created=False)

    lang = validation.language()
    errors = validation.validate_data(service, data, lang)
    errors.update(check_files(service, files, lang))  # may raise SubmissionTooLarge
    errors.update(_check_citizen(citizen, lang))
    if errors:
        raise SubmissionInvalid(errors)

    try:
        with transaction.atomic():
            if key and (earlier := _earlier(service, key)) is not None:
                return SubmissionResult(earlier, created=False)
            ticket = _create(service, citizen, data, files, channel)
            if key:
                IdempotencyKey.objects.create(service=service, key=key, ticket=ticket)
    except IntegrityError:
        # Another submission with this key committed first: ours is rolled back whole.
        earlier = _earlier(service, key) if key else None
        if earlier is None:
            raise
        return SubmissionResult(earlier, created=False)
    return SubmissionResult(ticket, created=True)


def _earlier(service: OnlineService, key: str) -> Ticket | None:
    found = IdempotencyKey.objects.filter(service=service, key=key).select_related("ticket").first()
    return found.ticket if found is not None else None


def _create(
    service: OnlineService,
    citizen_input: CitizenInput,
    data: dict[str, Any],
    files: list[UploadedDocument],
    channel: str,
) -> Ticket:
    citizen = identify_citizen(service, citizen_input)
    attachments = []
    for upload in files:
        filename = _clean_filename(upload.filename)
        content_type = _content_type(filename, sniff(upload.content), upload.content_type)
        attachments.append(AttachmentInput(filename, upload.content, content_type))
    from_addr = citizen.email
    if citizen.email and citizen.get_full_name():
        from_addr = f"{citizen.get_full_name()} <{citizen.email}>"
    ticket = tickets.create_ticket(
        None,
        department=service.department,
        title=_title(service, citizen),
        citizen=citizen,
        data=data,
        service=service,
        article=ArticleInput(
            body=summary(service, data, files),
            kind=KINDS[channel],
            sender=SenderKind.CITIZEN,
            subject=service.name_de,
            from_addr=from_addr,
            attachments=attachments,
        ),
    )
    article = ticket.articles.order_by("pk").first()
    if article is not None and files:
        stored = list(article.attachments.order_by("pk"))
        for upload, attachment in zip(files, stored, strict=True):
            if upload.document_key:
                ProvidedDocument.objects.create(
                    ticket=ticket, document_key=upload.document_key, attachment=attachment
                )
    return ticket


def provided_documents(ticket: Ticket) -> dict[str, list[int]]:
    """Document key -> ids of the attachments that provide it."""
    found: dict[str, list[int]] = {}
    for key, attachment_id in ProvidedDocument.objects.filter(ticket=ticket).values_list(
        "document_key", "attachment_id"
    ):
        found.setdefault(key, []).append(attachment_id)
    return found


def missing_documents(ticket: Ticket) -> list[dict[str, Any]]:
    """The required documents of the case's service that no attachment provides yet."""
    if ticket.service is None:
        return []
    have = provided_documents(ticket)
    return [
        d
        for d in ticket.service.documents
        if isinstance(d, dict) and d.get("required") and d.get("key") not in have
    ]


def record_document(ticket: Ticket, document_key: str, attachment_id: int) -> None:
    """Note that an attachment (e.g. uploaded later on the case page) provides a document."""
    ProvidedDocument.objects.create(
        ticket=ticket, document_key=document_key, attachment_id=attachment_id
    )


__all__ = [
    "CitizenInput",
    "SubmissionInvalid",
    "SubmissionResult",
    "SubmissionTooLarge",
    "UploadedDocument",
    "citizen_from_data",
    "field_label",
    "identify_citizen",
    "missing_documents",
    "provided_documents",
    "record_document",
    "submit",
]
