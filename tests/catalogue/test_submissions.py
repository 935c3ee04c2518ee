"""submit(): the one way a submission to an online service becomes a case."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import Client
from django.utils import translation

from tests.concurrency import in_parallel
from tests.factories import AgentFactory, CitizenFactory, TenantFactory, TicketFactory
from vorgang.accounts.models import Role, TrustLevel, User
from vorgang.catalogue import submissions
from vorgang.catalogue.models import IdempotencyKey, OnlineService, ProvidedDocument
from vorgang.catalogue.submissions import (
    SubmissionInvalid,
    SubmissionTooLarge,
    UploadedDocument,
    missing_documents,
    record_document,
    submit,
)
from vorgang.core.errors import NotFound
from vorgang.tickets import services as tickets
from vorgang.tickets.models import Article, Ticket

from .conftest import JPEG, PDF, PNG, citizen, licence_data, licence_files

pytestmark = pytest.mark.django_db


def submit_licence(service: OnlineService, **kwargs):
    kwargs.setdefault("citizen", citizen())
    kwargs.setdefault("data", licence_data())
    kwargs.setdefault("files", licence_files())
    kwargs.setdefault("channel", "form")
    return submit(service, **kwargs)


def invalid(service: OnlineService, language: str = "de", **kwargs) -> dict[str, list[str]]:
    with translation.override(language), pytest.raises(SubmissionInvalid) as caught:
        submit_licence(service, **kwargs)
    assert Ticket.objects.count() == 0  # nothing stored
    return caught.value.errors


# --- the case ------------------------------------------------------------------------------------


def test_submission_becomes_a_case_in_the_services_department(licence: OnlineService) -> None:
    result = submit_licence(licence)
    assert result.created
    ticket = result.ticket
    assert ticket.department.name == "Führerscheinstelle"
    assert ticket.title == "Führerscheinantrag: Lukas Müller"
    assert ticket.service == licence
    assert ticket.data == licence_data()
    assert ticket.citizen is not None
    assert ticket.citizen.email == "lukas.mueller@example.org"
    assert ticket.citizen.role == Role.CITIZEN
    article = ticket.articles.get()
    assert (article.kind, article.sender, article.internal) == ("web", "citizen", False)
    assert "Führerscheinklasse: B – Pkw bis 3,5 t" in article.body
    assert "Geburtsdatum: 14.05.2007" in article.body
    assert "Anschrift: Straße und Hausnummer: Lindenstraße 12" in article.body
    assert "- Biometrisches Passfoto: passfoto.jpg" in article.body
    stored = {a.filename: a.content_type for a in article.attachments.all()}
    assert stored == {"passfoto.jpg": "image/jpeg", "erste-hilfe.pdf": "application/pdf"}
    assert article.attachments.get(filename="passfoto.jpg").blob.read() == JPEG
    provided = dict(ProvidedDocument.objects.values_list("document_key", "attachment__filename"))
    assert provided == {"photo": "passfoto.jpg", "first_aid": "erste-hilfe.pdf"}
    assert missing_documents(ticket) == []


def test_api_submissions_are_api_articles(licence: OnlineService) -> None:
    ticket = submit_licence(licence, channel="api").ticket
    assert ticket.articles.get().kind == "api"


def test_missing_documents_of_a_case_and_documents_sent_later(licence: OnlineService) -> None:
    ticket = TicketFactory(department=licence.department, service=licence)
    assert [d["key"] for d in missing_documents(ticket)] == ["photo", "first_aid"]
    article = tickets.add_article(
        None,
        ticket,
        tickets.ArticleInput(
            body="Anbei das Foto.",
            kind="portal",
            sender="citizen",
            attachments=[tickets.AttachmentInput("foto.png", PNG, "image/png")],
        ),
    )
    record_document(ticket, "photo", article.attachments.get().pk)
    assert [d["key"] for d in missing_documents(ticket)] == ["first_aid"]


# --- documents --------------------------------------------------------------------------------


def test_required_document_missing(licence: OnlineService) -> None:
    files = licence_files(first_aid=None)
    assert invalid(licence, files=files) == {
        "documents.first_aid": ["Bitte laden Sie „Nachweis Erste-Hilfe-Kurs“ hoch."]
    }
    assert invalid(licence, "en", files=files) == {
        "documents.first_aid": ["Please upload “First-aid course certificate”."]
    }


def test_wrong_content_for_the_extension_is_found_by_magic_bytes(licence: OnlineService) -> None:
    fake = UploadedDocument("photo", "passfoto.jpg", PDF, "image/jpeg")
    assert invalid(licence, files=licence_files(photo=fake)) == {
        "documents.photo": [
            "Die Datei „passfoto.jpg“ ist keine echte JPEG-Datei. "
            "Bitte laden Sie die richtige Datei hoch."
        ]
    }
    program = UploadedDocument("first_aid", "bescheinigung.pdf", b"MZ\x90\x00" + b"\x00" * 100)
    assert invalid(licence, "en", files=licence_files(first_aid=program)) == {
        "documents.first_aid": [
            "The file “bescheinigung.pdf” is not a real PDF file. Please upload the right file."
        ]
    }


def test_type_not_accepted_by_extension(licence: OnlineService) -> None:
    gif = UploadedDocument("photo", "passfoto.gif", b"GIF89a" + b"\x00" * 50, "image/gif")
    assert invalid(licence, files=licence_files(photo=gif)) == {
        "documents.photo": [
            "Die Datei „passfoto.gif“ hat ein Format, das hier nicht angenommen wird. "
            "Erlaubt sind: JPEG, PNG."
        ]
    }


def test_accepted_types_pass(licence: OnlineService) -> None:
    png = UploadedDocument("photo", "FOTO.PNG", PNG, "application/octet-stream")
    result = submit_licence(licence, files=licence_files(photo=png))
    attachment = result.ticket.articles.get().attachments.get(filename="FOTO.PNG")
    assert attachment.content_type == "image/png"  # from the content, not the client


def test_document_larger_than_its_limit(licence: OnlineService) -> None:
    big = UploadedDocument("photo", "passfoto.jpg", JPEG + b"\x00" * (5 * 1024 * 1024), "")
    assert invalid(licence, files=licence_files(photo=big)) == {
        "documents.photo": [
            "Die Datei „passfoto.jpg“ ist zu groß (5 MB). Erlaubt sind höchstens 5 MB je Datei."
        ]
    }


def test_all_files_together_too_large(licence: OnlineService, settings) -> None:
    settings.VORGANG_SUBMISSION_MAX_BYTES = 300
    with translation.override("en"), pytest.raises(SubmissionTooLarge) as caught:
        submit_licence(licence)
    assert "The documents are too large together" in caught.value.message
    assert caught.value.status == 413
    assert Ticket.objects.count() == 0


def test_empty_and_unknown_documents(licence: OnlineService) -> None:
    files = [
        *licence_files(),
        UploadedDocument("photo", "leer.jpg", b"", "image/jpeg"),
        UploadedDocument("tax_return", "steuer.pdf", PDF, "application/pdf"),
    ]
    assert invalid(licence, "en", files=files) == {
        "documents.photo": ["The file “leer.jpg” is empty."],
        "documents.tax_return": ["This form does not expect a document “tax_return”."],
    }


def test_free_attachments_are_checked_too(licence: OnlineService) -> None:
    files = [*licence_files(), UploadedDocument("", "notiz.txt", b"hallo", "text/plain")]
    errors = invalid(licence, "en", files=files)
    assert list(errors) == ["attachments.2"]
    ticket = submit_licence(
        licence, files=[*licence_files(), UploadedDocument("", "brief.pdf", PDF)]
    ).ticket
    assert ticket.articles.get().attachments.count() == 3
    assert "- Weitere Datei: brief.pdf" in ticket.articles.get().body


def test_data_errors_and_file_errors_come_together(licence: OnlineService) -> None:
    errors = invalid(licence, data=licence_data(birth_date=None), files=licence_files(photo=None))
    assert set(errors) == {"birth_date", "documents.photo"}


# --- idempotency ---------------------------------------------------------------------------------


def test_same_key_gives_the_first_case_and_stores_nothing_again(licence: OnlineService) -> None:
    first = submit_licence(licence, idempotency_key="form-7f3a")
    again = submit_licence(licence, idempotency_key="form-7f3a")
    assert first.created and not again.created
    assert again.ticket.pk == first.ticket.pk
    assert Ticket.objects.count() == 1
    assert Article.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


def test_replay_after_success_is_answered_even_if_the_retry_differs(licence: OnlineService) -> None:
    first = submit_licence(licence, idempotency_key="retry-1")
    replay = submit_licence(licence, idempotency_key="retry-1", data={}, files=[])
    assert (replay.ticket.pk, replay.created) == (first.ticket.pk, False)


def test_other_keys_and_no_key_are_new_cases(licence: OnlineService, demo_services) -> None:
    submit_licence(licence, idempotency_key="a")
    submit_licence(licence, idempotency_key="b")
    submit_licence(licence)
    submit_licence(licence)
    assert Ticket.objects.count() == 4


def test_a_failed_submission_does_not_use_up_its_key(licence: OnlineService) -> None:
    with pytest.raises(SubmissionInvalid):
        submit_licence(licence, idempotency_key="k", data=licence_data(birth_date=None))
    assert submit_licence(licence, idempotency_key="k").created


def test_duplicate_that_loses_the_race_is_rolled_back(licence: OnlineService, monkeypatch) -> None:
    """The second of two concurrent submissions saw no key; the unique constraint stops it."""
    first = submit_licence(licence, idempotency_key="race")
    real = submissions._earlier
    calls = {"n": 0}

    def blind_at_first(service, key):
        calls["n"] += 1
        return None if calls["n"] <= 2 else real(service, key)  # both checks miss it

    monkeypatch.setattr(submissions, "_earlier", blind_at_first)
    second = submit_licence(licence, idempotency_key="race")
    assert calls["n"] == 3
    assert (second.ticket.pk, second.created) == (first.ticket.pk, False)
    assert Ticket.objects.count() == 1
    assert Article.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_with_one_key_make_one_case(tenant) -> None:
    if connections["default"].vendor == "sqlite":
        # SQLite's in-memory test database (shared cache) fails at once on a lock instead
        # of waiting; the race itself is covered by the test above on every database.
        pytest.skip("needs a database that waits for locks (PostgreSQL)")
    from vorgang.accounts import services as accounts
    from vorgang.catalogue import demo as catalogue_demo
    from vorgang.core import demo as core_demo

    for spec in core_demo.DEPARTMENTS:
        accounts.create_department(spec.name, address=spec.address, tenant=tenant)
    catalogue_demo.load(tenant)
    service = OnlineService.objects.get(slug="fuehrerscheinantrag")
    results = in_parallel([lambda: submit_licence(service, idempotency_key="same")] * 4, timeout=60)
    assert len(results) == 4
    assert Ticket.objects.count() == 1
    assert sum(r.created for r in results) == 1
    assert {r.ticket.pk for r in results} == {Ticket.objects.get().pk}


# --- the citizen ---------------------------------------------------------------------------------


def test_citizen_found_by_email_in_any_case(licence: OnlineService, tenant) -> None:
    known = CitizenFactory(email="Lukas.Mueller@Example.org", tenant=tenant)
    ticket = submit_licence(licence).ticket
    assert ticket.citizen_id == known.pk
    assert User.objects.filter(role=Role.CITIZEN).count() == 1


def test_citizen_of_another_tenant_is_not_matched(licence: OnlineService) -> None:
    stranger = CitizenFactory(email="lukas.mueller@example.org", tenant=TenantFactory())
    ticket = submit_licence(licence).ticket
    assert ticket.citizen_id != stranger.pk
    assert ticket.citizen.tenant_id == licence.tenant_id


def test_citizen_found_by_external_id_keeps_the_address_on_file(licence, tenant) -> None:
    known = CitizenFactory(email="alt@example.org", external_id="bundid:00ff", tenant=tenant)
    ticket = submit_licence(licence, citizen=citizen(external_id="bundid:00ff")).ticket
    assert ticket.citizen_id == known.pk
    known.refresh_from_db()
    assert known.email == "alt@example.org"


def test_address_of_someone_with_another_external_id_is_another_person(licence, tenant) -> None:
    other = CitizenFactory(
        email="lukas.mueller@example.org", external_id="bundid:aaaa", tenant=tenant
    )
    ticket = submit_licence(licence, citizen=citizen(external_id="bundid:bbbb")).ticket
    assert ticket.citizen_id != other.pk
    assert ticket.citizen.external_id == "bundid:bbbb"


def test_unidentified_citizen_with_the_address_gets_the_external_id(licence, tenant) -> None:
    known = CitizenFactory(email="lukas.mueller@example.org", tenant=tenant)
    ticket = submit_licence(licence, citizen=citizen(external_id="bundid:cccc")).ticket
    assert ticket.citizen_id == known.pk
    known.refresh_from_db()
    assert known.external_id == "bundid:cccc"


def test_external_id_alone_identifies(licence: OnlineService) -> None:
    only_id = citizen(email="", external_id="bundid:dddd", trust_level="high")
    first = submit_licence(licence, citizen=only_id).ticket
    second = submit_licence(licence, citizen=only_id).ticket
    assert first.citizen_id == second.citizen_id
    assert first.citizen.email == ""
    assert first.citizen.trust_level == TrustLevel.HIGH


def test_no_way_to_reach_the_citizen(licence: OnlineService) -> None:
    assert invalid(licence, citizen=citizen(email="")) == {
        "citizen.email": ["Bitte geben Sie Ihre E-Mail-Adresse an."]
    }
    assert invalid(licence, "en", citizen=citizen(email="lukas@")) == {
        "citizen.email": ["Please enter a valid e-mail address, for example name@example.org."]
    }


def test_trust_level_only_rises(licence: OnlineService, tenant) -> None:
    known = CitizenFactory(
        email="lukas.mueller@example.org", trust_level=TrustLevel.SUBSTANTIAL, tenant=tenant
    )
    submit_licence(licence, citizen=citizen(trust_level="email"))
    known.refresh_from_db()
    assert known.trust_level == TrustLevel.SUBSTANTIAL
    submit_licence(licence, citizen=citizen(trust_level="high"))
    known.refresh_from_db()
    assert known.trust_level == TrustLevel.HIGH
    submit_licence(licence, citizen=citizen(trust_level="none"))
    known.refresh_from_db()
    assert known.trust_level == TrustLevel.HIGH


def test_unknown_trust_level(licence: OnlineService) -> None:
    assert invalid(licence, "en", citizen=citizen(trust_level="super")) == {
        "citizen.trust_level": [
            "Unknown trust level “super”. Allowed: none, email, substantial, high."
        ]
    }


# --- walls and bad input -------------------------------------------------------------------------


def test_inactive_service_and_foreign_actor(licence: OnlineService) -> None:
    outsider = AgentFactory(tenant=TenantFactory(), role=Role.INTEGRATION)
    with pytest.raises(NotFound):
        submit_licence(licence, actor=outsider)
    licence.active = False
    licence.save()
    with pytest.raises(NotFound):
        submit_licence(licence)
    assert Ticket.objects.count() == 0


def test_html_is_stored_as_given_and_escaped_on_the_desk(
    licence: OnlineService, client: Client
) -> None:
    script = "<script>alert('xss')</script>"
    data = licence_data(first_name=script, last_name="<b>Müller</b>")
    ticket = submit_licence(licence, data=data, citizen=citizen(first_name=script)).ticket
    assert ticket.data["first_name"] == script
    assert script in ticket.articles.get().body
    agent = AgentFactory(departments={licence.department: ["full"]})
    client.force_login(agent)
    page = client.get(f"/cases/{ticket.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert script not in html
    assert "<b>Müller</b>" not in html
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in html
