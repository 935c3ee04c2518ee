"""``vorgang api-token``."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vorgang.accounts import services
from vorgang.accounts.models import ApiToken
from vorgang.core import clock

pytestmark = pytest.mark.django_db


def issue(*args: str) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue()


def test_prints_a_token_that_authenticates_its_user() -> None:
    user = services.create_user("robot", email="robot@stadt.example", role="agent")

    output = issue("robot", "--name", "Fachverfahren")

    token = output.strip()
    assert output == f"{token}\n" and len(token) >= 40
    assert ApiToken.authenticate(token) == user
    stored = ApiToken.objects.get(user=user)
    assert (stored.name, stored.expires_at) == ("Fachverfahren", None)
    assert token not in stored.key_hash


def test_expiry_in_days() -> None:
    services.create_user("robot", email="robot@stadt.example", role="agent")

    issue("robot", "--expires-days", "30")

    expires = ApiToken.objects.get().expires_at
    assert expires is not None
    assert abs(expires - (clock.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_unknown_or_deactivated_user() -> None:
    user = services.create_user("gone", email="gone@stadt.example", role="agent")
    user.is_active = False
    user.save()

    with pytest.raises(CommandError, match="No user with the login 'nobody'"):
        issue("nobody")
    with pytest.raises(CommandError, match="deactivated"):
        issue("gone")
    assert not ApiToken.objects.exists()
