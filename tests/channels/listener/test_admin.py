"""The channels' admin: the journal within the tenant wall, reprocessing, mailboxes, rules."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from tests.factories import AdminFactory, AgentFactory, DepartmentFactory, TenantFactory
from vorgang.accounts.models import Department, Tenant
from vorgang.channels import journal
from vorgang.channels.email.intake import process
from vorgang.channels.models import InboundMessage, InboundStatus, Mailbox, PostmasterRule

from .conftest import message

pytestmark = pytest.mark.django_db

JOURNAL = "/admin/channels/inboundmessage/"


@pytest.fixture
def own_department(db: None) -> Department:
    department: Department = DepartmentFactory(
        name="Bürgerbüro", email_address="buergerbuero@stadt.example"
    )
    return department


@pytest.fixture
def foreign_department(db: None) -> Department:
    department: Department = DepartmentFactory(
        name="Fremdes Amt", email_address="amt@anderswo.example", tenant=TenantFactory()
    )
    return department


def entry_for(department: Department | None, subject: str) -> InboundMessage:
    return journal.accept(
        message(subject=subject, to=department.email_address if department else "x@y.example"),
        channel="lmtp",
        recipient=department.email_address if department else "",
        department=department,
    )


def admin_client(client: Client, **kwargs: object) -> Client:
    client.force_login(AdminFactory(**kwargs))
    return client


def ids_on(page: str, entries: list[InboundMessage]) -> set[int]:
    return {e.pk for e in entries if f"{JOURNAL}{e.pk}/change/" in page}


def test_admin_sees_own_tenants_journal_only(
    client: Client, own_department: Department, foreign_department: Department
) -> None:
    own = entry_for(own_department, "eigen")
    foreign = entry_for(foreign_department, "fremd")
    unroutable = entry_for(None, "niemandem")
    assert unroutable.tenant_id is None
    admin_client(client)

    page = client.get(JOURNAL)

    assert page.status_code == 200
    assert ids_on(page.content.decode(), [own, foreign, unroutable]) == {own.pk}
    assert client.get(f"{JOURNAL}{own.pk}/change/").status_code == 200
    for hidden in (foreign, unroutable):
        assert client.get(f"{JOURNAL}{hidden.pk}/change/").status_code in (302, 404)


def test_superuser_also_sees_unroutable_entries_but_not_other_tenants(
    client: Client, own_department: Department, foreign_department: Department
) -> None:
    own = entry_for(own_department, "eigen")
    foreign = entry_for(foreign_department, "fremd")
    unroutable = entry_for(None, "niemandem")
    admin_client(client, is_superuser=True)

    page = client.get(JOURNAL).content.decode()

    assert ids_on(page, [own, foreign, unroutable]) == {own.pk, unroutable.pk}


def test_journal_is_read_only_and_filterable(client: Client, own_department: Department) -> None:
    entry = entry_for(own_department, "eigen")
    failed = entry_for(own_department, "kaputt")
    InboundMessage.objects.filter(pk=failed.pk).update(
        status=InboundStatus.FAILED, error="ValueError: kaputt\nDetails"
    )
    admin_client(client)

    page = client.get(JOURNAL, {"status__exact": "failed"}).content.decode()
    assert ids_on(page, [entry, failed]) == {failed.pk}
    assert "ValueError: kaputt" in page

    assert client.get(f"{JOURNAL}add/").status_code == 403
    detail = client.get(f"{JOURNAL}{entry.pk}/change/").content.decode()
    assert 'name="status"' not in detail  # shown, not editable
    assert client.post(f"{JOURNAL}{entry.pk}/delete/").status_code == 403


def test_reprocess_action_queues_and_the_entry_is_then_processed(
    client: Client, own_department: Department, foreign_department: Department
) -> None:
    failed = journal.accept(message(to="noch-nicht@stadt.example"), channel="lmtp")
    process(failed.pk)
    # An admin routes the address, then reprocesses: the entry has no tenant yet, so
    # only a superuser can reach it.
    DepartmentFactory(email_address="noch-nicht@stadt.example")
    done = entry_for(own_department, "schon erledigt")
    process(done.pk)
    foreign = entry_for(foreign_department, "fremd")
    DBTaskResult.objects.all().delete()
    admin_client(client, is_superuser=True)

    response = client.post(
        JOURNAL,
        {"action": "reprocess", "_selected_action": [failed.pk, done.pk, foreign.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "1 message queued for processing again." in page
    assert "1 message was already processed" in page
    # The foreign tenant's entry was not in reach, so not queued.
    assert [t.args_kwargs["args"] for t in DBTaskResult.objects.all()] == [[failed.pk]]
    assert process(failed.pk) == InboundStatus.PROCESSED


def test_agents_do_not_reach_the_journal(client: Client, own_department: Department) -> None:
    client.force_login(AgentFactory())
    assert client.get(JOURNAL).status_code == 302


# --- mailboxes ----------------------------------------------------------------------------


def mailbox_form(department: Department, **overrides: str) -> dict[str, str]:
    data = {
        "name": "Postfach Bürgerbüro",
        "host": "imap.stadt.example",
        "port": "993",
        "security": "imaps",
        "verify_certificate": "on",
        "username": "buergerbuero",
        "password": "geheim-1",
        "folder": "INBOX",
        "after_fetch": "keep",
        "move_to": "",
        "department": str(department.pk),
        "poll_interval": "60",
        "active": "on",
    }
    data.update(overrides)
    return data


def test_mailbox_password_is_kept_when_left_empty(
    client: Client, own_department: Department
) -> None:
    admin_client(client)
    added = client.post("/admin/channels/mailbox/add/", mailbox_form(own_department))
    assert added.status_code == 302, added.content.decode()[:3000]
    mailbox = Mailbox.objects.get()
    assert mailbox.password == "geheim-1"
    assert mailbox.tenant_id == own_department.tenant_id

    form = client.get(f"/admin/channels/mailbox/{mailbox.pk}/change/").content.decode()
    assert 'type="password"' in form
    assert "geheim-1" not in form  # never sent back to the browser

    changed = client.post(
        f"/admin/channels/mailbox/{mailbox.pk}/change/",
        mailbox_form(own_department, password="", folder="Eingang"),
    )
    assert changed.status_code == 302, changed.content.decode()[:3000]
    mailbox.refresh_from_db()
    assert (mailbox.password, mailbox.folder) == ("geheim-1", "Eingang")

    client.post(
        f"/admin/channels/mailbox/{mailbox.pk}/change/",
        mailbox_form(own_department, password="neu-2"),
    )
    mailbox.refresh_from_db()
    assert mailbox.password == "neu-2"


def test_new_mailbox_needs_a_password_and_a_move_folder(
    client: Client, own_department: Department
) -> None:
    admin_client(client)
    response = client.post(
        "/admin/channels/mailbox/add/",
        mailbox_form(own_department, password="", after_fetch="move"),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"password", "move_to"}
    assert not Mailbox.objects.exists()


def test_mailboxes_stay_within_the_tenant(
    client: Client, own_department: Department, foreign_department: Department
) -> None:
    foreign = Mailbox.objects.create(
        tenant=foreign_department.tenant,
        name="Fremdes Postfach",
        host="imap.anderswo.example",
        username="x",
        password="y",
        department=foreign_department,
    )
    admin_client(client)
    assert "Fremdes Postfach" not in client.get("/admin/channels/mailbox/").content.decode()
    assert client.get(f"/admin/channels/mailbox/{foreign.pk}/change/").status_code in (302, 404)
    # A department of another tenant is no valid choice.
    response = client.post("/admin/channels/mailbox/add/", mailbox_form(foreign_department))
    assert response.status_code == 200
    assert "department" in response.context["adminform"].form.errors


# --- postmaster rules ---------------------------------------------------------------------


def rule_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Newsletter ignorieren",
        "position": "10",
        "active": "on",
        "header": "List-Id",
        "match_type": "contains",
        "value": "newsletter",
        "action": "ignore",
        "department": "",
        "priority": "",
        "tag": "",
    }
    data.update(overrides)
    return data


def test_postmaster_rules_are_checked_and_scoped(
    client: Client, own_department: Department, foreign_department: Department
) -> None:
    admin_client(client)
    bad = client.post(
        "/admin/channels/postmasterrule/add/",
        rule_form(match_type="regex", value="([", action="tag"),
    )
    assert bad.status_code == 200
    assert set(bad.context["adminform"].form.errors) == {"value", "tag"}

    good = client.post("/admin/channels/postmasterrule/add/", rule_form())
    assert good.status_code == 302, good.content.decode()[:3000]
    rule = PostmasterRule.objects.get()
    assert rule.tenant_id == Tenant.default().pk

    PostmasterRule.objects.create(
        tenant=foreign_department.tenant,
        name="Fremde Regel",
        header="From",
        value="x",
        action="ignore",
    )
    listing = client.get("/admin/channels/postmasterrule/").content.decode()
    assert "Newsletter ignorieren" in listing
    assert "Fremde Regel" not in listing
