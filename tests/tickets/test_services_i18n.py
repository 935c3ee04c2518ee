"""Service errors are formatted in the language active when they are raised."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from tests.factories import AgentFactory, DepartmentFactory, TicketFactory
from vorgang.core.errors import InvalidInput, InvalidTransition
from vorgang.tickets import services

pytestmark = pytest.mark.django_db

LOCALE_DIR = Path(__file__).resolve().parents[2] / "src" / "vorgang" / "locale"


@pytest.fixture(autouse=True)
def _compiled_locale(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Use the committed .po files, compiled now, not a possibly stale .mo on disk."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail("msgfmt (GNU gettext) is needed: apt-get install gettext")
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/*.po"):
        mo = tmp_path / "locale" / po.relative_to(LOCALE_DIR).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([msgfmt, "--check-format", "-o", str(mo), str(po)], check=True)
    # Changing LOCALE_PATHS resets the active language; English stays the default here.
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    with translation.override("en"):
        yield


def test_unknown_state_is_reported_in_german() -> None:
    with translation.override("de"), pytest.raises(InvalidInput) as caught:
        services.state_by_name("gibt-es-nicht")
    assert caught.value.message == "Unbekannter Status 'gibt-es-nicht'."


def test_merged_case_is_reported_in_german() -> None:
    department = DepartmentFactory()
    agent = AgentFactory(departments={department: ["full"]})
    source, target = TicketFactory(department=department), TicketFactory(department=department)
    services.merge(agent, source, target)
    with translation.override("de"), pytest.raises(InvalidTransition) as caught:
        services.tag(agent, source, "eilig")
    assert caught.value.message == (
        f"Der Vorgang {source.number} wurde mit dem Vorgang {target.number} "
        "zusammengeführt und wird dort weiterbearbeitet."
    )


def test_state_names_in_messages_follow_the_language() -> None:
    department = DepartmentFactory()
    with translation.override("de"), pytest.raises(InvalidTransition) as caught:
        services.create_ticket(None, department=department, title="Anmeldung", state="merged")
    assert caught.value.message == (
        "Ein Vorgang kann nicht im Status „zusammengeführt“ angelegt werden."
    )
    with pytest.raises(InvalidTransition, match=r"cannot start in the state 'merged'\.$"):
        services.create_ticket(None, department=department, title="Anmeldung", state="merged")
