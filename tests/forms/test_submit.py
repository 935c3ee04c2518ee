"""Sending the hosted form: validation, files, spam guards, double submits, the confirmation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from vorgang.accounts.models import Department, Tenant
from vorgang.catalogue.models import OnlineService
from vorgang.channels.forms import guards
from vorgang.core import clock
from vorgang.portal import links
from vorgang.tickets.models import Article, Ticket

from ..factories import AgentFactory, DepartmentFactory, TenantFactory
from .conftest import KB, PDF, PNG, make_service, old_token, pdf_upload, valid_post

pytestmark = pytest.mark.django_db

URL = "/s/testantrag/"


def send(client: Client, service: OnlineService, language: str = "de", **overrides: Any) -> Any:
    overrides.setdefault("document.proof", pdf_upload())
    return client.post(URL, valid_post(service, **overrides), HTTP_ACCEPT_LANGUAGE=language)


def done_case(response: Any) -> int | None:
    """The case id in the confirmation page's address."""
    token = response["Location"].rstrip("/").rpartition("/")[2]
    return guards.read_done_token(token, OnlineService.objects.get(slug="testantrag").pk)


def error_of(html: str, element_id: str) -> str:
    """The text of the error message tied to the element (via aria-describedby)."""
    tag = re.search(
        r"<(?:input|select|textarea|fieldset)\b[^>]*\bid=\"" + element_id + r"\"[^>]*>", html
    )
    assert tag, f"no element #{element_id}"
    assert 'aria-invalid="true"' in tag.group(0) or tag.group(0).startswith("<fieldset")
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    assert described and f"{element_id}-error" in described.group(1).split()
    block = re.search(r'id="' + element_id + r'-error">(.*?)</div>', html, re.S)
    assert block
    return re.sub(r"<[^>]+>", "", block.group(1)).strip()


# --- success ------------------------------------------------------------------------------------


def test_a_valid_form_becomes_one_case(
    client: Client, service: OnlineService, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, service)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.service == service and ticket.department == service.department
    assert ticket.data["children"] == 2 and ticket.data["amount"] == 12.5
    assert ticket.data["address"] == {
        "street": "Hauptstraße 1",
        "postcode": "12345",
        "city": "Musterstadt",
    }
    assert ticket.citizen is not None and ticket.citizen.email == "erika@example.org"
    web = ticket.articles.get(kind="web")
    assert [a.filename for a in web.attachments.all()] == ["nachweis.pdf"]

    done = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    html = done.content.decode()
    assert done.status_code == 200
    assert f'id="case-number">{ticket.number}</p>' in html
    assert "What happens next" in html
    assert "Processing usually takes about 7 days." in html
    assert "e-mail with your case number and a link to your case page" in html
    assert done["Cache-Control"] == "no-store"


def test_several_files_for_one_document(client: Client, service: OnlineService) -> None:
    files = [pdf_upload("vorne.pdf"), pdf_upload("hinten.pdf")]
    response = send(client, service, **{"document.proof": files})
    assert response.status_code == 302
    names = sorted(
        Ticket.objects.get().articles.get(kind="web").attachments.values_list("filename", flat=True)
    )
    assert names == ["hinten.pdf", "vorne.pdf"]


# --- validation ---------------------------------------------------------------------------------


def test_required_fields_in_german(client: Client, service: OnlineService) -> None:
    response = send(
        client,
        service,
        **{
            "data.full_name": "",
            "data.status": None,
            "data.address.city": "",
            "data.consent": None,
        },
    )
    assert response.status_code == 422
    assert not Ticket.objects.exists()
    html = response.content.decode()
    summary = re.search(r'<div class="kern-alert[^"]*" role="alert" id="error-summary"[^>]*>', html)
    assert summary and "autofocus" in summary.group(0) and 'tabindex="-1"' in summary.group(0)
    assert error_of(html, "f-data-full_name").endswith(
        "Bitte füllen Sie das Feld „Vollständiger Name“ aus."
    )
    assert error_of(html, "f-data-address-city").endswith(
        "Bitte füllen Sie das Feld „Anschrift: Ort“ aus."
    )
    assert "Bitte wählen Sie bei „Familienstand“ etwas aus." in error_of(html, "f-data-status")
    assert "Bitte bestätigen Sie" in error_of(html, "f-data-consent")
    # The summary links to each field.
    for target in ("f-data-full_name", "f-data-address-city", "f-data-status-0", "f-data-consent"):
        assert f'href="#{target}"' in html
    # What was entered is kept.
    assert 'value="Hauptstraße 1"' in html and 'value="erika@example.org"' in html


def test_required_fields_in_english(client: Client, service: OnlineService) -> None:
    response = send(client, service, "en", **{"data.full_name": "", "citizen.email": ""})
    html = response.content.decode()
    assert response.status_code == 422
    assert error_of(html, "f-data-full_name").endswith("Please fill in “Full name”.")
    assert error_of(html, "f-citizen-email").endswith("Please enter your e-mail address.")
    assert "Please check your entries" in html


def test_wrong_values_are_explained(client: Client, service: OnlineService) -> None:
    response = send(
        client,
        service,
        **{
            "data.children": "zwei",
            "data.birth_date": "1980-02-31",
            "data.iban": "DE00 1234",
            "citizen.email": "erika-at-example",
            "data.address.postcode": "1234",
        },
    )
    html = response.content.decode()
    assert "eine ganze Zahl" in error_of(html, "f-data-children")
    assert "gültiges Datum" in error_of(html, "f-data-birth_date")
    assert "IBAN" in error_of(html, "f-data-iban")
    assert "gültige E-Mail-Adresse" in error_of(html, "f-citizen-email")
    assert 'value="zwei"' in html  # shown as typed
    assert not Ticket.objects.exists()


def test_files_must_be_chosen_again_after_an_error(client: Client, service: OnlineService) -> None:
    response = send(client, service, "en", **{"data.full_name": ""})
    html = response.content.decode()
    assert "Please select your files again." in html
    # Without files there is nothing to choose again.
    response = client.post(
        URL, valid_post(service, **{"data.full_name": ""}), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Please select your files again." not in response.content.decode()


def test_a_missing_required_document(client: Client, service: OnlineService) -> None:
    response = client.post(URL, valid_post(service), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 422
    assert "Bitte laden Sie „Nachweis“ hoch." in error_of(response.content.decode(), "doc-proof")


def test_wrong_file_type(client: Client, service: OnlineService) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    exe = SimpleUploadedFile("programm.exe", b"MZ\x90\x00", content_type="application/pdf")
    response = send(client, service, **{"document.proof": exe})
    html = response.content.decode()
    assert response.status_code == 422
    assert "„programm.exe“ hat ein Format, das hier nicht angenommen wird" in error_of(
        html, "doc-proof"
    )
    # A file named .pdf that is not one.
    fake = SimpleUploadedFile("nachweis.pdf", b"<html>nope</html>", content_type="application/pdf")
    html = send(client, service, "en", **{"document.proof": fake}).content.decode()
    assert "is not a real PDF file" in error_of(html, "doc-proof")
    # A PNG for the photo is fine, a PDF is not.
    photo = SimpleUploadedFile("foto.pdf", PDF, content_type="application/pdf")
    html = send(client, service, **{"document.photo": photo}).content.decode()
    assert "Erlaubt sind: JPEG, PNG" in error_of(html, "doc-photo")
    assert not Ticket.objects.exists()


def test_too_large_file(client: Client, service: OnlineService) -> None:
    big = pdf_upload("gross.pdf", PDF + b"0" * (100 * KB))
    response = send(client, service, **{"document.proof": big, "data.full_name": ""})
    html = response.content.decode()
    assert response.status_code == 422
    message = error_of(html, "doc-proof")
    assert "„gross.pdf“ ist zu groß" in message and "höchstens 100 KB je Datei" in message
    assert "hoch." not in message  # not also told it is missing
    assert "Vollständiger Name" in error_of(html, "f-data-full_name")  # every problem at once
    assert not Ticket.objects.exists()
    # The same limit without other errors (submit() itself is not reached).
    response = send(
        client, service, "en", **{"document.proof": pdf_upload("big.pdf", PDF + b"0" * (100 * KB))}
    )
    assert "“big.pdf” is too large" in error_of(response.content.decode(), "doc-proof")
    assert not Ticket.objects.exists()


def test_photo_png_is_accepted(client: Client, service: OnlineService) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    photo = SimpleUploadedFile("foto.png", PNG, content_type="image/png")
    assert send(client, service, **{"document.photo": photo}).status_code == 302


# --- spam -----------------------------------------------------------------------------------------


def test_honeypot(client: Client, service: OnlineService) -> None:
    response = send(client, service, "en", **{guards.HONEYPOT_FIELD: "http://spam.example"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The form could not be sent" in html and "Nothing was stored" in html
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("problem", ["too_fast", "missing", "forged", "other_service"])
def test_bad_tokens_are_refused(
    client: Client, service: OnlineService, department: Department, problem: str
) -> None:
    if problem == "too_fast":
        token = guards.issue_token(service.pk)  # just now: no person is that fast
    elif problem == "missing":
        token = ""
    elif problem == "forged":
        token = old_token(service)[:-4] + "AAAA"
    else:
        other = make_service(department.tenant, department, slug="anderer-antrag")
        token = old_token(other)
    response = send(client, service, **{guards.TOKEN_FIELD: token})
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_an_expired_token_keeps_the_entries(
    client: Client, service: OnlineService, settings: Any
) -> None:
    settings.VORGANG_FORM_MAX_AGE = 3600
    token = guards.issue_token(service.pk, issued=clock.now().timestamp() - 7200)
    response = send(client, service, "en", **{guards.TOKEN_FIELD: token})
    html = response.content.decode()
    assert response.status_code == 200
    assert "The form was open for a long time" in html and 'role="alert"' in html
    assert 'value="Erika Mustermann"' in html
    assert not Ticket.objects.exists()
    fresh = re.search(r'name="form_token" value="([^"]+)"', html)
    assert fresh and fresh.group(1) != token


def test_rate_limit_per_address_and_service(
    client: Client, service: OnlineService, settings: Any
) -> None:
    settings.VORGANG_FORM_RATE_LIMIT = 2
    for _ in range(2):
        assert send(client, service).status_code == 302
    response = send(client, service, "en")
    assert response.status_code == 429
    assert "Too many applications" in response.content.decode()
    assert Ticket.objects.count() == 2
    # Another address is not affected.
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert send(other, service).status_code == 302
    assert Ticket.objects.count() == 3


# --- double submit ----------------------------------------------------------------------------------


def test_double_submit_gives_one_case(
    client: Client, service: OnlineService, django_capture_on_commit_callbacks: Any
) -> None:
    post = valid_post(service)
    # An error first: the form comes back with the same token, so the same key.
    response = client.post(URL, post | {"data.full_name": ""})
    token = re.search(r'name="form_token" value="([^"]+)"', response.content.decode())
    assert token and token.group(1) == post[guards.TOKEN_FIELD]
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(URL, post | {"document.proof": pdf_upload()})
        second = client.post(URL, post | {"document.proof": pdf_upload()})
    assert first.status_code == second.status_code == 302
    assert done_case(first) == done_case(second) == Ticket.objects.get().pk
    assert Ticket.objects.count() == 1
    assert len(mail.outbox) == 1  # one confirmation, too
    # Sent again later, even with other entries: the same confirmation, nothing new.
    third = client.post(URL, post | {"data.full_name": "Jemand anderes"})
    assert third.status_code == 302 and done_case(third) == done_case(first)
    assert Ticket.objects.count() == 1


# --- tenants and services -------------------------------------------------------------------------


def test_tenant_by_host(client: Client, service: OnlineService) -> None:
    other_tenant = TenantFactory(name="Gemeinde Beispiel", host="formulare.beispiel.example")
    other_department = DepartmentFactory(tenant=other_tenant)
    make_service(other_tenant, other_department, name_de="Antrag der Gemeinde")
    make_service(other_tenant, other_department, slug="nur-dort", name_de="Nur dort")

    html = client.get(URL, HTTP_HOST="formulare.beispiel.example").content.decode()
    assert "Antrag der Gemeinde" in html and "Gemeinde Beispiel" in html
    html = client.get(URL, HTTP_HOST="formulare.beispiel.example:8443").content.decode()
    assert "Antrag der Gemeinde" in html
    html = client.get(URL).content.decode()
    assert "Testantrag" in html and "Antrag der Gemeinde" not in html
    assert client.get("/s/nur-dort/").status_code == 404
    assert client.get("/s/nur-dort/", HTTP_HOST="formulare.beispiel.example").status_code == 200

    response = client.post(
        URL,
        valid_post(service, **{"document.proof": pdf_upload()}),
        HTTP_HOST="formulare.beispiel.example",
    )
    assert response.status_code == 400  # the token belongs to the other tenant's service
    assert not Ticket.objects.exists()


def test_inactive_and_unknown_services(client: Client, service: OnlineService) -> None:
    response = client.get("/s/gibt-es-nicht/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "Online service not found" in response.content.decode()
    OnlineService.objects.filter(pk=service.pk).update(active=False)
    assert client.get(URL).status_code == 404
    assert send(client, service).status_code == 404
    assert not Ticket.objects.exists()


def test_confirmation_page_needs_a_valid_token(client: Client, service: OnlineService) -> None:
    response = send(client, service)
    assert client.get(response["Location"]).status_code == 200
    ticket = Ticket.objects.get()
    assert client.get(f"{URL}done/{ticket.pk}/").status_code == 404
    forged = guards.done_token(ticket.pk, service.pk)[:-3] + "abc"
    assert client.get(f"{URL}done/{forged}/").status_code == 404


# --- HTML and script in fields ------------------------------------------------------------------


def test_markup_is_stored_as_text_and_shown_escaped(client: Client, service: OnlineService) -> None:
    evil = '<script>alert("x")</script><b>fett</b>'
    response = send(client, service, **{"data.full_name": evil, "citizen.last_name": evil})
    ticket = Ticket.objects.get()
    assert ticket.data["full_name"] == evil
    done = client.get(response["Location"]).content.decode()
    assert "<script>alert" not in done and "<b>fett" not in done
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;fett&lt;/b&gt;" in done

    agent = AgentFactory(departments={service.department: ["full"]})
    desk = Client()
    desk.force_login(agent)
    case = desk.get(f"/cases/{ticket.pk}/")
    assert case.status_code == 200
    html = case.content.decode()
    assert "<script>alert" not in html and "<b>fett" not in html
    assert "&lt;script&gt;" in html

    # And again in the form after an error.
    html = send(client, service, **{"data.full_name": evil, "data.birth_date": ""}).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


# --- the confirmation e-mail --------------------------------------------------------------------------


def test_confirmation_mail_with_case_page_link(
    client: Client, service: OnlineService, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        send(client, service)
    ticket = Ticket.objects.get()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["erika@example.org"]
    assert message.subject == f"[Vorgang#{ticket.number}] Ihr Antrag ist eingegangen"
    assert "Guten Tag Erika Mustermann," in message.body
    assert f"Ihre Vorgangsnummer ist: {ticket.number}" in message.body
    assert "Testantrag" in message.body and "etwa 7 Tage" in message.body
    url = re.search(r"https://vorgang\.stadt\.example/c/(\S+)/", message.body)
    assert url, message.body
    check = links.check(url.group(1))
    assert check.status == 200 and check.link is not None and check.link.ticket == ticket
    # The case shows what was sent, as a system e-mail.
    article = Article.objects.get(ticket=ticket, kind="email")
    assert article.sender == "system" and article.delivery_status == "sent"
    assert article.to == "erika@example.org"


def test_confirmation_mail_in_english_with_the_service_text(
    client: Client,
    service: OnlineService,
    django_capture_on_commit_callbacks: Any,
) -> None:
    service.confirmation_en = (
        "Dear {name}, case {number} for {service}. {unknown} {name.__class__} {"
    )
    service.save()
    with django_capture_on_commit_callbacks(execute=True):
        send(client, service, "en")
    ticket = Ticket.objects.get()
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == f"[Vorgang#{ticket.number}] We have received your application"
    assert f"Dear Erika Mustermann, case {ticket.number} for Test application." in body
    assert "{unknown} {name.__class__} {" in body  # left as written
    assert "/c/" in body and "anyone who has the link can see your case" in body


def test_no_mail_for_a_repeated_submission_or_an_error(
    client: Client, service: OnlineService, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        send(client, service, **{"data.full_name": ""})
    assert mail.outbox == []


def test_demo_registration_end_to_end(
    client: Client,
    demo_services: dict[str, OnlineService],
    tenant: Tenant,
    django_capture_on_commit_callbacks: Any,
) -> None:
    service = demo_services["anmeldung"]
    post = {
        guards.TOKEN_FIELD: old_token(service),
        "data.first_name": "Max",
        "data.last_name": "Mustermann",
        "data.move_in_date": "2026-11-01",
        "data.new_address.street": "Rathausplatz 1",
        "data.new_address.postcode": "1234",
        "data.new_address.city": "Musterstadt",
        "data.previous_address.street": "Rue de la Paix 3",
        "data.previous_address.postcode": "75002",
        "data.previous_address.city": "Paris",
        "data.previous_address.country": "Frankreich",
        "data.persons_count": "1",
        "data.email": "max@example",
    }
    html = client.post("/s/anmeldung/", post).content.decode()
    assert "Postleitzahl mit 5 Ziffern" in error_of(html, "f-data-new_address-postcode")
    assert "gültige E-Mail-Adresse" in error_of(html, "f-data-email")
    assert "Wohnungsgeberbestätigung" in error_of(html, "doc-landlord_confirmation")
    post |= {"data.new_address.postcode": "12345", "data.email": "max@example.org"}
    files = {
        "document.landlord_confirmation": pdf_upload("wgb.pdf"),
        "document.id_card": pdf_upload("ausweis.pdf"),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/s/anmeldung/", post | files)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.citizen is not None and ticket.citizen.email == "max@example.org"
    assert ticket.citizen.first_name == "Max"
    assert "Vielen Dank! Wir haben Ihre Anmeldung erhalten." in mail.outbox[0].body
