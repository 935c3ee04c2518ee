"""`vorgang services export` / `import`: JSON files round-trip every service without loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from tests.factories import TenantFactory
from vorgang.accounts import services as accounts
from vorgang.catalogue import demo as catalogue_demo
from vorgang.catalogue import exchange
from vorgang.catalogue.models import OnlineService

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The command's problem lines are checked in English (German is the default)."""
    with translation.override("en"):
        yield


def files_in(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.json"))}


def test_round_trip_into_an_empty_catalogue_reproduces_the_demo_exactly(
    demo_services, tmp_path: Path
) -> None:
    call_command("services", "export", str(tmp_path / "first"))
    first = files_in(tmp_path / "first")
    assert sorted(first) == [
        "anmeldung.json",
        "eheschliessung-auslandsbezug.json",
        "fuehrerscheinantrag.json",
    ]
    OnlineService.objects.all().delete()  # an empty catalogue, the departments stay
    call_command("services", "import", str(tmp_path / "first"))
    call_command("services", "export", str(tmp_path / "second"))
    assert files_in(tmp_path / "second") == first
    for definition in catalogue_demo.SERVICES:
        written = json.loads(first[f"{definition['slug']}.json"])
        assert written == json.loads(json.dumps(definition)), definition["slug"]
        service = OnlineService.objects.get(slug=definition["slug"])
        for name in exchange.FIELDS:
            value = (
                service.department.email_address if name == "department" else getattr(service, name)
            )
            assert value == definition[name], (definition["slug"], name)


def test_file_format(demo_services, tmp_path: Path) -> None:
    call_command("services", "export", str(tmp_path))
    text = (tmp_path / "anmeldung.json").read_text(encoding="utf-8")
    assert text.startswith('{\n  "slug": "anmeldung",\n  "name_de": "Anmeldung einer Wohnung",')
    assert '"department": "buergerbuero@stadt.example"' in text
    assert "Wohnungsgeberbestätigung" in text  # UTF-8, not \\u escapes
    assert text.endswith("}\n")


def test_import_updates_by_slug(demo_services, tmp_path: Path) -> None:
    call_command("services", "export", str(tmp_path))
    path = tmp_path / "anmeldung.json"
    values = json.loads(path.read_text())
    values["processing_days"] = 7
    values["name_en"] = "Registering your home"
    path.write_text(json.dumps(values))
    call_command("services", "import", str(tmp_path))
    service = OnlineService.objects.get(slug="anmeldung")
    assert (service.processing_days, service.name_en) == (7, "Registering your home")
    assert OnlineService.objects.count() == 3


def test_invalid_file_is_named_with_its_error_and_nothing_is_imported(
    demo_services, tmp_path: Path
) -> None:
    call_command("services", "export", str(tmp_path))
    OnlineService.objects.all().delete()
    broken = json.loads((tmp_path / "anmeldung.json").read_text())
    broken["schema"]["properties"]["persons_count"]["type"] = "zahl"
    (tmp_path / "anmeldung.json").write_text(json.dumps(broken))
    (tmp_path / "kaputt.json").write_text('{"slug": "kaputt",')
    with pytest.raises(CommandError) as caught:
        call_command("services", "import", str(tmp_path))
    text = str(caught.value)
    assert text.startswith("Nothing imported:")
    assert (
        "anmeldung.json: schema: The schema is not valid JSON Schema (draft 2020-12) at "
        "properties/persons_count/type" in text
    )
    assert "kaputt.json: not valid JSON (line 1, column 19)" in text
    assert OnlineService.objects.count() == 0  # the two sound files were not imported either


def test_unknown_department_and_keys(demo_services, tmp_path: Path) -> None:
    call_command("services", "export", str(tmp_path))
    values = json.loads((tmp_path / "anmeldung.json").read_text())
    values["department"] = "meldeamt@anderswo.example"
    values["colour"] = "blue"
    (tmp_path / "anmeldung.json").write_text(json.dumps(values))
    with pytest.raises(CommandError) as caught:
        call_command("services", "import", str(tmp_path))
    assert "anmeldung.json: unknown keys colour" in str(caught.value)
    del values["colour"]
    (tmp_path / "anmeldung.json").write_text(json.dumps(values))
    with pytest.raises(CommandError) as caught:
        call_command("services", "import", str(tmp_path))
    assert "anmeldung.json: no department with the address meldeamt@anderswo.example" in str(
        caught.value
    )


def test_tenant_option_exports_and_imports_within_that_tenant(demo_services, tmp_path) -> None:
    other = TenantFactory(slug="nachbarstadt")
    call_command("services", "export", str(tmp_path / "a"))
    with pytest.raises(CommandError, match="no department with the address"):
        call_command("services", "import", str(tmp_path / "a"), "--tenant", "nachbarstadt")
    # Departments are found by address within the tenant; give the neighbour its own.
    for path in (tmp_path / "a").glob("*.json"):
        values = json.loads(path.read_text())
        values["department"] = values["department"].replace("stadt.example", "nachbar.example")
        path.write_text(json.dumps(values))
    for address in ("fuehrerschein", "standesamt", "buergerbuero"):
        accounts.create_department(
            address.capitalize(), address=f"{address}@nachbar.example", tenant=other
        )
    call_command("services", "import", str(tmp_path / "a"), "--tenant", "nachbarstadt")
    assert OnlineService.objects.filter(tenant=other).count() == 3
    call_command("services", "export", str(tmp_path / "b"), "--tenant", "nachbarstadt")
    exported = {n: json.loads(b) for n, b in files_in(tmp_path / "b").items()}
    assert exported == {n: json.loads(b) for n, b in files_in(tmp_path / "a").items()}


def test_empty_directory(tenant, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"holds no \.json files"):
        call_command("services", "import", str(tmp_path))


def test_demo_command_loads_the_services_once(db) -> None:
    call_command("demo")
    call_command("demo")
    assert sorted(OnlineService.objects.values_list("slug", flat=True)) == [
        "anmeldung",
        "eheschliessung-auslandsbezug",
        "fuehrerscheinantrag",
    ]
