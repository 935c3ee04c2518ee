"""The form token, the confirmation token and the rate limit on their own."""

from __future__ import annotations

from typing import Any

import pytest

from vorgang.channels.forms import guards
from vorgang.core import clock
from vorgang.core.models import RateLimitHit


def test_token_round_trip(settings: Any) -> None:
    settings.VORGANG_FORM_MIN_SECONDS = 3
    token = guards.issue_token(7, key="k1", issued=clock.now().timestamp() - 10)
    read = guards.read_token(token, 7)
    assert read.key == "k1" and read.service_id == 7 and 9 < read.age() < 60


@pytest.mark.parametrize(
    ("age", "service", "reason"),
    [(1, 7, "too_fast"), (10, 8, "invalid"), (10**7, 7, "expired")],
)
def test_token_problems(age: int, service: int, reason: str) -> None:
    token = guards.issue_token(7, issued=clock.now().timestamp() - age)
    with pytest.raises(guards.TokenProblem) as caught:
        guards.read_token(token, service)
    assert caught.value.reason == reason


@pytest.mark.parametrize("value", ["", "abc", "e30:1xX9WN:nope", "eyJzIjo3fQ:" * 3])
def test_broken_tokens(value: str) -> None:
    with pytest.raises(guards.TokenProblem):
        guards.read_token(value, 7)


def test_done_token() -> None:
    token = guards.done_token(42, 7)
    assert guards.read_done_token(token, 7) == 42
    assert guards.read_done_token(token, 8) is None
    assert guards.read_done_token(token + "x", 7) is None
    assert guards.read_done_token("42", 7) is None


@pytest.mark.django_db
def test_rate_limit_counts_per_client_and_service(rf: Any, settings: Any) -> None:
    settings.VORGANG_FORM_RATE_LIMIT = 2
    one = rf.post("/", REMOTE_ADDR="192.0.2.1")
    two = rf.post("/", REMOTE_ADDR="192.0.2.2")
    for _ in range(2):
        assert not guards.rate_limited(one, 1)
        guards.count_submission(one, 1)
    assert guards.rate_limited(one, 1)
    assert not guards.rate_limited(one, 2)  # another service
    assert not guards.rate_limited(two, 1)  # another address
    settings.VORGANG_FORM_RATE_LIMIT = 0  # off
    assert not guards.rate_limited(one, 1)
    # Only a keyed hash of the address is kept.
    rows = list(RateLimitHit.objects.values_list("scope", "key_hash"))
    assert len(rows) == 2
    assert all(scope == guards.RATE_SCOPE and "192.0.2" not in key for scope, key in rows)
