"""The configuration admin: admins only, and only their own tenant's objects."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import AdminFactory, AgentFactory, DepartmentFactory, TenantFactory
from vorgang.accounts.models import Department

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client):
    admin = AdminFactory()
    client.force_login(admin)
    return client


def test_admin_lists_only_own_tenant(admin_client: Client) -> None:
    own = DepartmentFactory(name="Standesamt")
    foreign = DepartmentFactory(name="Fremdes Amt", tenant=TenantFactory())
    page = admin_client.get("/admin/accounts/department/")
    assert page.status_code == 200
    assert own.name in page.content.decode()
    assert foreign.name not in page.content.decode()
    assert admin_client.get(f"/admin/accounts/department/{foreign.pk}/change/").status_code in (
        302,
        404,
    )
    foreign_user = AgentFactory(tenant=foreign.tenant)
    assert admin_client.get(f"/admin/accounts/user/{foreign_user.pk}/change/").status_code in (
        302,
        404,
    )


def test_new_department_lands_in_the_admins_tenant(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/accounts/department/add/",
        {
            "name": "Bürgerbüro",
            "email_address": "buergerbuero@stadt.example",
            "signature": "",
            "follow_up_policy": "reopen",
            "follow_up_days": "14",
            "active": "on",
            "access-TOTAL_FORMS": "0",
            "access-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Department.objects.get(name="Bürgerbüro")
    assert created.tenant_id == response.wsgi_request.user.tenant_id


def test_agents_and_citizens_do_not_reach_the_admin(client: Client) -> None:
    client.force_login(AgentFactory())
    assert client.get("/admin/accounts/department/").status_code == 302


def test_cases_are_not_in_the_admin(admin_client: Client) -> None:
    assert admin_client.get("/admin/tickets/ticket/").status_code == 404
    assert admin_client.get("/admin/tickets/article/").status_code == 404
    assert admin_client.get("/admin/tickets/state/").status_code == 200
