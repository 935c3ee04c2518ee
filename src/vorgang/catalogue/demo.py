"""Three online services of the demo city, in the format of ``vorgang services export``.

Driving licence application (Führerscheinstelle), marriage with a foreign partner
(Standesamt; documents may need a certified translation) and registration of a new
address (Bürgerbüro). ``load()`` creates those that are missing and leaves existing
ones as they are (an admin may have changed them), so it can run any number of times.

The LeiKa keys are illustrative: check them against the current LeiKa/FIM catalogue
before a city relies on them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from vorgang.accounts.models import Tenant
from vorgang.core.errors import InvalidInput

from . import exchange
from .models import OnlineService

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
MB = 1024 * 1024

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"

TRANSLATION_NOTE_DE = (
    " Ist die Urkunde nicht auf Deutsch, laden Sie bitte zusätzlich eine beglaubigte "
    "deutsche Übersetzung hoch. Die Übersetzung muss von einer Übersetzerin oder einem "
    "Übersetzer sein, die oder der in Deutschland dafür öffentlich bestellt oder "
    "beeidigt ist."
)
TRANSLATION_NOTE_EN = (
    " If the document is not in German, please also upload a certified German "
    "translation, made by a translator sworn or publicly appointed for this in Germany."
)


def _text(max_length: int = 100) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def _date() -> dict[str, Any]:
    return {"type": "string", "format": "date"}


def _address(*, german: bool) -> dict[str, Any]:
    postcode: dict[str, Any] = (
        {"type": "string", "pattern": "^[0-9]{5}$"}
        if german
        else {"type": "string", "minLength": 1, "maxLength": 20}
    )
    properties: dict[str, Any] = {
        "street": _text(200),
        "postcode": postcode,
        "city": _text(100),
    }
    if not german:
        properties["country"] = {"type": "string", "maxLength": 100}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["street", "postcode", "city"],
        "properties": properties,
    }


def _field(
    label_de: str,
    label_en: str,
    *,
    widget: str | None = None,
    help_de: str = "",
    help_en: str = "",
    required_de: str = "",
    required_en: str = "",
    **extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"label_de": label_de, "label_en": label_en}
    if widget:
        spec["widget"] = widget
    if help_de:
        spec["help_de"], spec["help_en"] = help_de, help_en
    if required_de:
        spec["messages_de"] = {"required": required_de}
        spec["messages_en"] = {"required": required_en}
    spec.update(extra)
    return spec


def _document(
    key: str,
    name_de: str,
    name_en: str,
    description_de: str,
    description_en: str,
    accept: list[str],
    *,
    max_mb: int = 10,
    required: bool = True,
    may_need_translation: bool = False,
) -> dict[str, Any]:
    return {
        "key": key,
        "name_de": name_de,
        "name_en": name_en,
        "description_de": description_de,
        "description_en": description_en,
        "accept": accept,
        "max_bytes": max_mb * MB,
        "required": required,
        "may_need_translation": may_need_translation,
    }


POSTCODE_FIELD = {
    "label_de": "Postleitzahl",
    "label_en": "Postcode",
    "messages_de": {"pattern": "Bitte geben Sie eine Postleitzahl mit 5 Ziffern an."},
    "messages_en": {"pattern": "Please enter a postcode of 5 digits."},
}
PHONE = {"type": "string", "maxLength": 50, "pattern": "^[0-9+()/ -]*$"}
PHONE_FIELD = _field(
    "Telefonnummer",
    "Phone number",
    widget="phone",
    help_de="Freiwillig. Für Rückfragen erreichen wir Sie so schneller.",
    help_en="Optional. It helps us reach you quickly if we have a question.",
    messages_de={"pattern": "Bitte geben Sie nur Ziffern, Leerzeichen und + ( ) / - ein."},
    messages_en={"pattern": "Please use only digits, spaces and + ( ) / -."},
)
EMAIL_FIELD = _field(
    "E-Mail-Adresse",
    "E-mail address",
    widget="email",
    help_de="An diese Adresse schicken wir die Eingangsbestätigung und den Link zu Ihrem Vorgang.",
    help_en="We send the confirmation and the link to your case to this address.",
    messages_de={
        "required": "Bitte geben Sie Ihre E-Mail-Adresse an.",
        "format": "Bitte geben Sie eine gültige E-Mail-Adresse an, zum Beispiel name@example.org.",
    },
    messages_en={
        "required": "Please enter your e-mail address.",
        "format": "Please enter a valid e-mail address, for example name@example.org.",
    },
)
EMAIL = {"type": "string", "format": "email", "maxLength": 254}

LICENCE_CLASSES = [
    ("AM", "Kleinkrafträder und Roller bis 45 km/h", "mopeds and scooters up to 45 km/h"),
    ("A1", "Leichtkrafträder bis 125 cm³", "light motorcycles up to 125 cc"),
    ("A2", "Krafträder bis 35 kW", "motorcycles up to 35 kW"),
    ("A", "Krafträder", "motorcycles"),
    ("B", "Pkw bis 3,5 t", "cars up to 3.5 t"),
    ("BE", "Pkw mit Anhänger", "cars with a trailer"),
    ("C1", "Lkw bis 7,5 t", "lorries up to 7.5 t"),
    ("C1E", "Lkw bis 7,5 t mit Anhänger", "lorries up to 7.5 t with a trailer"),
    ("C", "Lkw über 3,5 t", "lorries over 3.5 t"),
    ("CE", "Lkw mit Anhänger", "lorries with a trailer"),
    ("D1", "Kleinbusse bis 16 Fahrgäste", "minibuses up to 16 passengers"),
    ("D1E", "Kleinbusse mit Anhänger", "minibuses with a trailer"),
    ("D", "Busse", "buses"),
    ("DE", "Busse mit Anhänger", "buses with a trailer"),
    ("L", "Zugmaschinen bis 40 km/h (Land- und Forstwirtschaft)", "tractors up to 40 km/h"),
    ("T", "Zugmaschinen bis 60 km/h (Land- und Forstwirtschaft)", "tractors up to 60 km/h"),
]

DRIVING_LICENCE: dict[str, Any] = {
    "slug": "fuehrerscheinantrag",
    "name_de": "Führerscheinantrag",
    "name_en": "Driving licence application",
    "description_de": (
        "Beantragen Sie hier Ihren ersten Führerschein oder eine weitere Führerscheinklasse. "
        "Wenn Ihre Unterlagen vollständig sind, geben wir Ihren Antrag für die Prüfung frei. "
        "Den Prüftermin vereinbart Ihre Fahrschule."
    ),
    "description_en": (
        "Apply here for your first driving licence or for another licence class. When your "
        "documents are complete, we approve your application for the test. Your driving "
        "school arranges the test date."
    ),
    "leika": "99086001011000",
    "department": "fuehrerschein@stadt.example",
    "active": True,
    "processing_time": "computed",
    "processing_days": 21,
    "confirmation_de": (
        "Vielen Dank! Wir haben Ihren Führerscheinantrag erhalten. Wir prüfen jetzt Ihre "
        "Unterlagen. Fehlt etwas, schreiben wir Ihnen. Ist alles vollständig, geben wir Ihren "
        "Antrag für die Prüfung frei und sagen Ihrer Fahrschule Bescheid."
    ),
    "confirmation_en": (
        "Thank you! We have received your driving licence application. We are now checking "
        "your documents. If something is missing, we will write to you. When everything is "
        "complete, we approve your application for the test and tell your driving school."
    ),
    "schema": {
        "$schema": SCHEMA_URI,
        "type": "object",
        "additionalProperties": False,
        "required": [
            "licence_class",
            "first_name",
            "last_name",
            "birth_date",
            "address",
            "email",
            "eye_test_done",
        ],
        "properties": {
            "licence_class": {"type": "string", "enum": [c for c, _de, _en in LICENCE_CLASSES]},
            "first_name": _text(),
            "last_name": _text(),
            "birth_date": _date(),
            "address": _address(german=True),
            "phone": PHONE,
            "email": EMAIL,
            "eye_test_done": {"type": "boolean"},
        },
    },
    "ui": {
        "order": [
            "licence_class",
            "first_name",
            "last_name",
            "birth_date",
            "address",
            "phone",
            "email",
            "eye_test_done",
        ],
        "citizen": {"email": "email", "first_name": "first_name", "last_name": "last_name"},
        "fields": {
            "licence_class": _field(
                "Führerscheinklasse",
                "Licence class",
                widget="choice",
                help_de="Welche Klasse möchten Sie machen? Ihre Fahrschule hilft Ihnen bei der Wahl.",
                help_en="Which class do you want to take? Your driving school can help you choose.",
                required_de="Bitte wählen Sie die Führerscheinklasse aus.",
                required_en="Please choose the licence class.",
                choices_de={c: f"{c} – {de}" for c, de, _en in LICENCE_CLASSES},
                choices_en={c: f"{c} – {en}" for c, _de, en in LICENCE_CLASSES},
            ),
            "first_name": _field(
                "Vorname",
                "First name",
                help_de="Alle Vornamen, wie im Ausweis.",
                help_en="All first names, as in your identity card.",
                required_de="Bitte geben Sie Ihren Vornamen an.",
                required_en="Please enter your first name.",
            ),
            "last_name": _field(
                "Nachname",
                "Last name",
                required_de="Bitte geben Sie Ihren Nachnamen an.",
                required_en="Please enter your last name.",
            ),
            "birth_date": _field(
                "Geburtsdatum",
                "Date of birth",
                widget="date",
                messages_de={
                    "required": "Bitte geben Sie Ihr Geburtsdatum an.",
                    "format": "Bitte geben Sie ein gültiges Geburtsdatum an.",
                },
                messages_en={
                    "required": "Please enter your date of birth.",
                    "format": "Please enter a valid date of birth.",
                },
            ),
            "address": _field(
                "Anschrift",
                "Address",
                widget="address",
                help_de="Ihre Wohnanschrift in Musterstadt.",
                help_en="Your home address in Musterstadt.",
            ),
            "address.postcode": POSTCODE_FIELD,
            "phone": PHONE_FIELD,
            "email": EMAIL_FIELD,
            "eye_test_done": _field(
                "Ich habe schon einen Sehtest gemacht.",
                "I have already had an eye test.",
                widget="checkbox",
                help_de=(
                    "Den Sehtest machen Sie zum Beispiel bei einer Optikerin oder einem Optiker. "
                    "Die Bescheinigung darf höchstens zwei Jahre alt sein. Sie können sie auch "
                    "später nachreichen."
                ),
                help_en=(
                    "You can have the eye test at an optician's, for example. The certificate "
                    "must not be older than two years. You can also send it later."
                ),
            ),
        },
    },
    "documents": [
        _document(
            "photo",
            "Biometrisches Passfoto",
            "Biometric passport photo",
            "Ein aktuelles Foto im Hochformat, wie für den Personalausweis (biometrisch, "
            "35 × 45 mm). Als Bilddatei: JPEG oder PNG.",
            "A recent portrait photo as for an identity card (biometric, 35 × 45 mm). As an "
            "image file: JPEG or PNG.",
            [JPEG, PNG],
            max_mb=5,
        ),
        _document(
            "eye_test",
            "Sehtestbescheinigung",
            "Eye test certificate",
            "Die Bescheinigung einer amtlich anerkannten Sehteststelle, zum Beispiel einer "
            "Optikerin oder eines Optikers. Sie darf höchstens zwei Jahre alt sein.",
            "The certificate of an officially recognised eye test centre, for example an "
            "optician. It must not be older than two years.",
            [PDF, JPEG],
            required=False,
        ),
        _document(
            "first_aid",
            "Nachweis Erste-Hilfe-Kurs",
            "First-aid course certificate",
            "Die Bescheinigung über Ihre Teilnahme an einem Erste-Hilfe-Kurs.",
            "The certificate that you took part in a first-aid course.",
            [PDF, JPEG, PNG],
        ),
    ],
}


def _partner_fields(n: int) -> dict[str, dict[str, Any]]:
    de, en = f"Person {n}", f"person {n}"
    return {
        f"partner{n}_first_name": _field(
            f"Vorname ({de})",
            f"First name ({en})",
            required_de=f"Bitte geben Sie den Vornamen von {de} an.",
            required_en=f"Please enter the first name of {en}.",
        ),
        f"partner{n}_last_name": _field(
            f"Nachname ({de})",
            f"Last name ({en})",
            required_de=f"Bitte geben Sie den Nachnamen von {de} an.",
            required_en=f"Please enter the last name of {en}.",
        ),
        f"partner{n}_birth_date": _field(
            f"Geburtsdatum ({de})",
            f"Date of birth ({en})",
            widget="date",
            required_de=f"Bitte geben Sie das Geburtsdatum von {de} an.",
            required_en=f"Please enter the date of birth of {en}.",
        ),
        f"partner{n}_nationality": _field(
            f"Staatsangehörigkeit ({de})",
            f"Nationality ({en})",
            help_de="Bei mehreren Staatsangehörigkeiten nennen Sie bitte alle.",
            help_en="If there are several, please name all of them.",
            required_de=f"Bitte geben Sie die Staatsangehörigkeit von {de} an.",
            required_en=f"Please enter the nationality of {en}.",
        ),
    }


def _partner_documents(n: int) -> list[dict[str, Any]]:
    return [
        _document(
            f"birth_certificate_{n}",
            f"Geburtsurkunde (Person {n})",
            f"Birth certificate (person {n})",
            "Eine Geburtsurkunde, die nicht älter als sechs Monate ist. Eine ausländische "
            "Urkunde braucht meist eine Apostille oder Legalisation." + TRANSLATION_NOTE_DE,
            "A birth certificate not older than six months. A foreign certificate usually "
            "needs an apostille or legalisation." + TRANSLATION_NOTE_EN,
            [PDF, JPEG, PNG],
            may_need_translation=True,
        ),
        _document(
            f"passport_{n}",
            f"Kopie von Reisepass oder Personalausweis (Person {n})",
            f"Copy of passport or identity card (person {n})",
            "Die Seite mit Foto und Namen; beim Personalausweis auch die Rückseite.",
            "The page with photo and name; for an identity card also the back.",
            [PDF, JPEG, PNG],
        ),
    ]


MARRIAGE: dict[str, Any] = {
    "slug": "eheschliessung-auslandsbezug",
    "name_de": "Eheschließung mit Auslandsbezug",
    "name_en": "Marriage with a foreign partner",
    "description_de": (
        "Sie möchten in Musterstadt heiraten, und mindestens eine oder einer von Ihnen hat "
        "eine ausländische Staatsangehörigkeit oder ist im Ausland geboren? Hier melden Sie "
        "die Eheschließung an. Wir prüfen Ihre Unterlagen und schlagen Ihnen dann einen "
        "Termin vor. Urkunden in einer fremden Sprache brauchen eine beglaubigte deutsche "
        "Übersetzung."
    ),
    "description_en": (
        "You want to marry in Musterstadt, and at least one of you has a foreign nationality "
        "or was born abroad? Register your marriage here. We check your documents and then "
        "suggest a date. Documents in a foreign language need a certified German translation."
    ),
    "leika": "99025001007000",
    "department": "standesamt@stadt.example",
    "active": True,
    "processing_time": "fixed",
    "processing_days": 42,
    "confirmation_de": (
        "Vielen Dank! Wir haben Ihre Anmeldung zur Eheschließung erhalten. Wir prüfen Ihre "
        "Unterlagen; bei ausländischen Urkunden kann das einige Wochen dauern. Fehlt etwas "
        "oder brauchen wir eine Übersetzung, schreiben wir Ihnen."
    ),
    "confirmation_en": (
        "Thank you! We have received your registration of marriage. We are checking your "
        "documents; with foreign documents this can take a few weeks. If something is "
        "missing or we need a translation, we will write to you."
    ),
    "schema": {
        "$schema": SCHEMA_URI,
        "type": "object",
        "additionalProperties": False,
        "required": [
            *[
                f"partner{n}_{part}"
                for n in (1, 2)
                for part in ("first_name", "last_name", "birth_date", "nationality")
            ],
            "planned_date",
            "email",
        ],
        "properties": {
            **{
                f"partner{n}_{part}": (_date() if part == "birth_date" else _text())
                for n in (1, 2)
                for part in ("first_name", "last_name", "birth_date", "nationality")
            },
            "planned_date": _date(),
            "email": EMAIL,
            "phone": PHONE,
        },
    },
    "ui": {
        "order": [
            *[
                f"partner{n}_{part}"
                for n in (1, 2)
                for part in ("first_name", "last_name", "birth_date", "nationality")
            ],
            "planned_date",
            "email",
            "phone",
        ],
        "citizen": {
            "email": "email",
            "first_name": "partner1_first_name",
            "last_name": "partner1_last_name",
        },
        "fields": {
            **_partner_fields(1),
            **_partner_fields(2),
            "planned_date": _field(
                "Gewünschter Tag der Hochzeit",
                "Preferred wedding date",
                widget="date",
                help_de="Wir versuchen, diesen Tag möglich zu machen. Den Termin bestätigen wir.",
                help_en="We try to make this day possible and will confirm the date.",
                required_de="Bitte geben Sie den gewünschten Tag der Hochzeit an.",
                required_en="Please enter your preferred wedding date.",
            ),
            "email": EMAIL_FIELD,
            "phone": PHONE_FIELD,
        },
    },
    "documents": [
        *_partner_documents(1),
        *_partner_documents(2),
        _document(
            "certificate_of_no_impediment",
            "Ehefähigkeitszeugnis",
            "Certificate of no impediment to marriage",
            "Das Ehefähigkeitszeugnis bekommt die Person mit ausländischer "
            "Staatsangehörigkeit von ihrem Heimatstaat. Es zeigt, dass sie heiraten darf. "
            "Gibt Ihr Heimatstaat keines aus, beraten wir Sie zur Befreiung durch das "
            "Oberlandesgericht." + TRANSLATION_NOTE_DE,
            "The person with a foreign nationality gets this certificate from their home "
            "country. It shows that they are free to marry. If your home country does not "
            "issue one, we advise you on an exemption from the Higher Regional Court."
            + TRANSLATION_NOTE_EN,
            [PDF, JPEG, PNG],
            required=False,
            may_need_translation=True,
        ),
    ],
}

REGISTRATION: dict[str, Any] = {
    "slug": "anmeldung",
    "name_de": "Anmeldung einer Wohnung",
    "name_en": "Registering your address",
    "description_de": (
        "Sie sind nach Musterstadt gezogen? Dann melden Sie Ihre neue Wohnung innerhalb von "
        "zwei Wochen nach dem Einzug an. Sie brauchen dafür die Wohnungsgeberbestätigung "
        "Ihrer Vermieterin oder Ihres Vermieters."
    ),
    "description_en": (
        "You have moved to Musterstadt? Then register your new home within two weeks of "
        "moving in. You need the landlord's confirmation (Wohnungsgeberbestätigung) for it."
    ),
    "leika": "99115001001000",
    "department": "buergerbuero@stadt.example",
    "active": True,
    "processing_time": "fixed",
    "processing_days": 5,
    "confirmation_de": (
        "Vielen Dank! Wir haben Ihre Anmeldung erhalten. Wir prüfen Ihre Angaben und "
        "schicken Ihnen dann die Meldebestätigung. Fehlt etwas, schreiben wir Ihnen."
    ),
    "confirmation_en": (
        "Thank you! We have received your registration. We check your details and then "
        "send you the confirmation of registration. If something is missing, we will write "
        "to you."
    ),
    "schema": {
        "$schema": SCHEMA_URI,
        "type": "object",
        "additionalProperties": False,
        "required": [
            "first_name",
            "last_name",
            "move_in_date",
            "new_address",
            "previous_address",
            "persons_count",
            "email",
        ],
        "properties": {
            "first_name": _text(),
            "last_name": _text(),
            "move_in_date": _date(),
            "new_address": _address(german=True),
            "previous_address": _address(german=False),
            "persons_count": {"type": "integer", "minimum": 1, "maximum": 20},
            "other_persons": {"type": "string", "maxLength": 2000},
            "email": EMAIL,
            "phone": PHONE,
        },
    },
    "ui": {
        "order": [
            "first_name",
            "last_name",
            "move_in_date",
            "new_address",
            "previous_address",
            "persons_count",
            "other_persons",
            "email",
            "phone",
        ],
        "citizen": {"email": "email", "first_name": "first_name", "last_name": "last_name"},
        "fields": {
            "first_name": _field(
                "Vorname",
                "First name",
                required_de="Bitte geben Sie Ihren Vornamen an.",
                required_en="Please enter your first name.",
            ),
            "last_name": _field(
                "Nachname",
                "Last name",
                required_de="Bitte geben Sie Ihren Nachnamen an.",
                required_en="Please enter your last name.",
            ),
            "move_in_date": _field(
                "Tag des Einzugs",
                "Moving-in date",
                widget="date",
                help_de="Sie müssen sich innerhalb von zwei Wochen nach dem Einzug anmelden.",
                help_en="You must register within two weeks of moving in.",
                required_de="Bitte geben Sie den Tag Ihres Einzugs an.",
                required_en="Please enter the day you moved in.",
            ),
            "new_address": _field("Neue Anschrift", "New address", widget="address"),
            "new_address.postcode": POSTCODE_FIELD,
            "previous_address": _field(
                "Bisherige Anschrift",
                "Previous address",
                widget="address",
                help_de="Ihre letzte Anschrift, auch wenn sie im Ausland war.",
                help_en="Your last address, also if it was abroad.",
            ),
            "persons_count": _field(
                "Wie viele Personen ziehen ein?",
                "How many people are moving in?",
                widget="number",
                help_de="Sie selbst mitgezählt.",
                help_en="Including yourself.",
                required_de="Bitte geben Sie an, wie viele Personen einziehen.",
                required_en="Please say how many people are moving in.",
            ),
            "other_persons": _field(
                "Weitere Personen, die mit Ihnen einziehen",
                "Other people moving in with you",
                widget="textarea",
                help_de="Name und Geburtsdatum, eine Person je Zeile.",
                help_en="Name and date of birth, one person per line.",
            ),
            "email": EMAIL_FIELD,
            "phone": PHONE_FIELD,
        },
    },
    "documents": [
        _document(
            "landlord_confirmation",
            "Wohnungsgeberbestätigung",
            "Landlord's confirmation (Wohnungsgeberbestätigung)",
            "Die Bestätigung Ihrer Vermieterin oder Ihres Vermieters, dass Sie eingezogen "
            "sind. Wohnen Sie in Ihrer eigenen Wohnung, füllen Sie sie selbst aus.",
            "Your landlord's confirmation that you have moved in. If you own the home, you "
            "fill it in yourself.",
            [PDF, JPEG],
        ),
        _document(
            "id_card",
            "Kopie von Personalausweis oder Reisepass",
            "Copy of identity card or passport",
            "Vorder- und Rückseite des Personalausweises oder die Seite des Reisepasses mit "
            "Foto und Namen.",
            "Front and back of the identity card, or the passport page with photo and name.",
            [PDF, JPEG, PNG],
        ),
    ],
}

SERVICES: list[dict[str, Any]] = [DRIVING_LICENCE, MARRIAGE, REGISTRATION]


def load(tenant: Tenant) -> int:
    """Create the demo services that are missing; return how many were created."""
    created = 0
    for definition in SERVICES:
        if OnlineService.objects.filter(tenant=tenant, slug=definition["slug"]).exists():
            continue
        try:
            service = exchange.from_dict(definition, tenant)
        except ValidationError as exc:
            raise InvalidInput(
                f"Demo service {definition['slug']}: {' '.join(exc.messages)}"
            ) from exc
        service.save()
        created += 1
    return created
