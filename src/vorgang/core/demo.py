"""Demo data: a small German city administration with staff, citizens and cases.

``vorgang demo`` loads it. Loading is idempotent: every object has a marker (a
department's address, a user's login or e-mail address, the Message-ID of a case's
first message) and is created only when its marker is missing, each case in its own
transaction; so a second run adds nothing and an interrupted run is completed.

All changes to cases go through ``tickets.services``. The plan is built from a seeded
random generator before anything is written, so the data is the same on every run.
Phone numbers come from the ranges the Bundesnetzagentur keeps free for fiction, e-mail
addresses from the reserved ``example`` domains; nothing is mailed to anyone (the
agents' replies are recorded as sent without being queued).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from vorgang.accounts import services as accounts
from vorgang.accounts.models import (
    AccessLevel,
    Department,
    DepartmentAccess,
    Organisation,
    Role,
    Tenant,
    TrustLevel,
    User,
)
from vorgang.catalogue import demo as catalogue_demo
from vorgang.core import clock
from vorgang.core.errors import InvalidInput
from vorgang.tickets import services
from vorgang.tickets.models import Article, ArticleKind, LinkKind, SenderKind, StateKind, Ticket
from vorgang.tickets.services import ArticleInput, AttachmentInput

SEED = 20250611
PASSWORD = "vorgang-demo"  # noqa: S105 - the demo's published password
CITY = "Musterstadt"
POSTCODE = "12345"

FULL, READ, OVERVIEW, CHANGE, CREATE = (
    AccessLevel.FULL,
    AccessLevel.READ,
    AccessLevel.OVERVIEW,
    AccessLevel.CHANGE,
    AccessLevel.CREATE,
)

# --- departments and staff ---------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentSpec:
    key: str
    name: str
    address: str
    signature: str


DEPARTMENTS = [
    DepartmentSpec(
        "fs",
        "Führerscheinstelle",
        "fuehrerschein@stadt.example",
        "Mit freundlichen Grüßen\nIhre Führerscheinstelle\nStadt Musterstadt · Rathausplatz 1",
    ),
    DepartmentSpec(
        "sta",
        "Standesamt",
        "standesamt@stadt.example",
        "Mit freundlichen Grüßen\nIhr Standesamt\nStadt Musterstadt · Rathausplatz 1",
    ),
    DepartmentSpec(
        "bb",
        "Bürgerbüro",
        "buergerbuero@stadt.example",
        "Mit freundlichen Grüßen\nIhr Bürgerbüro\nStadt Musterstadt · Marktstraße 5",
    ),
]
DEMO_ADDRESSES = [d.address for d in DEPARTMENTS]


@dataclass(frozen=True)
class StaffSpec:
    login: str
    first_name: str
    last_name: str
    role: str
    grants: dict[str, tuple[str, ...]]  # department key -> levels
    about: str

    @property
    def email(self) -> str:
        return f"{self.login}@stadt.example"


STAFF = [
    StaffSpec("admin", "Karin", "Vogel", Role.ADMIN, {}, "configures; sees no case (need-to-know)"),
    StaffSpec(
        "petra.wagner",
        "Petra",
        "Wagner",
        Role.AGENT,
        {"fs": (FULL,), "sta": (FULL,), "bb": (FULL,)},
        "head of citizen services",
    ),
    StaffSpec("jonas.becker", "Jonas", "Becker", Role.AGENT, {"fs": (FULL,)}, "driving licences"),
    StaffSpec("aylin.yilmaz", "Aylin", "Yılmaz", Role.AGENT, {"sta": (FULL,)}, "registrar"),
    StaffSpec(
        "michael.hoffmann",
        "Michael",
        "Hoffmann",
        Role.AGENT,
        {"bb": (FULL,), "fs": (CREATE,)},
        "citizens' office; may open cases for the driving licence office",
    ),
    StaffSpec(
        "thomas.schulz",
        "Thomas",
        "Schulz",
        Role.AGENT,
        {"fs": (READ, OVERVIEW, CHANGE)},
        "works driving licence cases but may not own them",
    ),
    StaffSpec(
        "sabine.krueger",
        "Sabine",
        "Krüger",
        Role.AGENT,
        {"bb": (READ, OVERVIEW), "sta": (OVERVIEW,)},
        "trainee: reads only",
    ),
]
# Who owns a department's cases (besides petra.wagner, who may own any).
CASE_WORKER = {"fs": "jonas.becker", "sta": "aylin.yilmaz", "bb": "michael.hoffmann"}

# --- citizens -------------------------------------------------------------------------------

ORGANISATIONS = [
    ("Fahrschule Lenkrad GmbH", "Meldet Fahrschülerinnen und Fahrschüler zur Prüfung an."),
    ("Hochzeitsagentur Rosengarten", "Organisiert Trauungen im Auftrag von Brautpaaren."),
]

# first name, last name, street, organisation index or None, trust level
CITIZEN_ROWS: list[tuple[str, str, str, int | None, str]] = [
    ("Lukas", "Müller", "Lindenstraße 12", None, TrustLevel.HIGH),
    ("Sophie", "Schneider", "Bahnhofstraße 3a", None, TrustLevel.EMAIL),
    ("Mehmet", "Öztürk", "Am Marktplatz 7", None, TrustLevel.SUBSTANTIAL),
    ("Anna", "Fischer", "Goethestraße 41", None, TrustLevel.NONE),
    ("Maximilian", "Weber", "Schillerweg 2", None, TrustLevel.HIGH),
    ("Marie", "Meyer", "Kirchgasse 9", None, TrustLevel.EMAIL),
    ("Elias", "Braun", "Rosenweg 15", None, TrustLevel.NONE),
    ("Hannah", "Zimmermann", "Hauptstraße 88", None, TrustLevel.SUBSTANTIAL),
    ("Leon", "Koch", "Mühlenweg 4", 0, TrustLevel.EMAIL),
    ("Emilia", "Richter", "Birkenallee 23", None, TrustLevel.HIGH),
    ("Paul", "Klein", "Gartenstraße 6", None, TrustLevel.NONE),
    ("Mia", "Wolf", "Am Stadtpark 1", None, TrustLevel.EMAIL),
    ("Ben", "Schröder", "Feldstraße 30", None, TrustLevel.NONE),
    ("Lea", "Neumann", "Wiesenweg 11", None, TrustLevel.SUBSTANTIAL),
    ("Finn", "Schwarz", "Eichendorffstraße 5", None, TrustLevel.NONE),
    ("Lina", "Hartmann", "Brunnengasse 2", None, TrustLevel.HIGH),
    ("Noah", "Lange", "Industriestraße 17", None, TrustLevel.NONE),
    ("Ella", "Werner", "Sonnenhang 8", None, TrustLevel.EMAIL),
    ("Felix", "Krause", "Ulmenweg 14", None, TrustLevel.NONE),
    ("Clara", "Lehmann", "Rathausgasse 3", 1, TrustLevel.EMAIL),
    ("Dragana", "Petrović", "Lessingstraße 22", None, TrustLevel.SUBSTANTIAL),
    ("Jan", "Kowalski", "Bergstraße 9", None, TrustLevel.NONE),
    ("Ursula", "Schmitz", "Kastanienallee 40", None, TrustLevel.HIGH),
    ("Heinz-Dieter", "Baumann", "Am Wasserturm 6", None, TrustLevel.NONE),
    ("Fatma", "Demir", "Friedrichstraße 57", None, TrustLevel.EMAIL),
]
MAIL_DOMAINS = ["example.org", "example.com", "example.net"]
# Ranges kept free for film and fiction (Bundesnetzagentur): prefix, block.
FICTION_PHONES = [("030", "23125"), ("069", "90009"), ("040", "66969"), ("0221", "4710")]


@dataclass(frozen=True)
class CitizenSpec:
    first_name: str
    last_name: str
    email: str
    address: str
    phone: str
    external_id: str
    trust_level: str
    organisation: str | None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def mailbox(self) -> str:
        return f"{self.name} <{self.email}>"


def ascii_name(text: str) -> str:
    """``Öztürk`` -> ``oeztuerk``, ``Petrović`` -> ``petrovic`` (for e-mail addresses)."""
    text = text.lower()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ı", "i")):
        text = text.replace(umlaut, spelled)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-"))


def _citizens(rng: random.Random) -> list[CitizenSpec]:
    result = []
    for i, (first, last, street, org, trust) in enumerate(CITIZEN_ROWS):
        email = f"{ascii_name(first)}.{ascii_name(last)}@{MAIL_DOMAINS[i % len(MAIL_DOMAINS)]}"
        phone = ""
        if rng.random() < 0.7:
            prefix, block = rng.choice(FICTION_PHONES)
            phone = f"{prefix} {block}{rng.randrange(1000):03d}"
        external_id = ""
        if trust in (TrustLevel.SUBSTANTIAL, TrustLevel.HIGH):
            external_id = f"bundid:{rng.getrandbits(64):016x}"
        result.append(
            CitizenSpec(
                first_name=first,
                last_name=last,
                email=email,
                address=f"{street}\n{POSTCODE} {CITY}",
                phone=phone,
                external_id=external_id,
                trust_level=trust,
                organisation=ORGANISATIONS[org][0] if org is not None else None,
            )
        )
    return result


# --- files ------------------------------------------------------------------------------------


def make_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` (Helvetica, WinAnsi), byte for byte the same each time."""

    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    def encodable(char: str) -> str:
        try:
            char.encode("cp1252")
        except UnicodeEncodeError:  # e.g. ć: the base letter, c
            return unicodedata.normalize("NFKD", char)[0]
        return char

    lines = ["".join(encodable(c) for c in line) for line in lines]

    shown = " ".join(f"({escape(line)}) '" for line in lines)
    content = f"BT /F1 12 Tf 16 TL 72 790 Td {shown} ET".encode("cp1252", errors="replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


FILES: dict[str, Callable[[], AttachmentInput]] = {
    "geburtsurkunde": lambda: AttachmentInput(
        "Geburtsurkunde_Petrovic_Scan.pdf",
        make_pdf(
            [
                "Izvod iz matične knjige rođenih (Geburtsurkunde, Scan)",
                "Ime / Vorname: Dragana",
                "Prezime / Familienname: Petrović",
                "Datum rođenja / Geburtsdatum: 14.03.1992",
                "Mesto rođenja / Geburtsort: Novi Sad",
                "Apostille: siehe Rückseite",
            ]
        ),
        "application/pdf",
    ),
    "merkblatt": lambda: AttachmentInput(
        "Merkblatt_Eheschliessung_Auslandsbezug.txt",
        (
            "Merkblatt: Eheschließung mit Auslandsbezug\n"
            "==========================================\n\n"
            "Bitte bringen Sie zur Anmeldung mit:\n"
            "- gültige Personalausweise oder Reisepässe\n"
            "- Geburtsurkunden (nicht älter als 6 Monate), aus dem Ausland mit Apostille\n"
            "- Ehefähigkeitszeugnis des Heimatstaates bzw. Befreiung durch das OLG\n"
            "- beglaubigte Übersetzungen aller fremdsprachigen Urkunden\n"
            "- erweiterte Meldebescheinigungen beider Verlobter\n\n"
            "Standesamt Musterstadt · Rathausplatz 1 · standesamt@stadt.example\n"
        ).encode(),
        "text/plain",
    ),
    "vollmacht": lambda: AttachmentInput(
        "Vollmacht_Abholung_Fuehrerschein.pdf",
        make_pdf(
            [
                "Vollmacht",
                "Hiermit bevollmächtige ich, Ben Schröder, geb. 02.11.1979,",
                "Frau Mia Wolf, geb. 19.06.1981, meinen Führerschein",
                "bei der Führerscheinstelle Musterstadt abzuholen.",
                "Musterstadt, den 12.05.2025      gez. Ben Schröder",
            ]
        ),
        "application/pdf",
    ),
    "gutachten": lambda: AttachmentInput(
        "Aerztliche_Bescheinigung_C_CE.pdf",
        make_pdf(
            [
                "Ärztliche Bescheinigung nach Anlage 5 FeV",
                "Untersuchung für die Klassen C, CE",
                "Patient: Felix Krause, geb. 07.08.1968",
                "Ergebnis: keine Bedenken",
                "Dr. med. Beispiel, Arbeitsmedizin, Musterstadt",
            ]
        ),
        "application/pdf",
    ),
    "wohnungsgeber": lambda: AttachmentInput(
        "Wohnungsgeberbestaetigung.pdf",
        make_pdf(
            [
                "Wohnungsgeberbestätigung nach § 19 BMG",
                "Einzug am: 01.04.2025",
                "Anschrift: Eichendorffstraße 5, 12345 Musterstadt",
                "Meldepflichtige Person: Finn Schwarz",
                "Wohnungsgeber: Hausverwaltung Beispiel GmbH",
            ]
        ),
        "application/pdf",
    ),
}

# --- cases --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSpec:
    key: str
    department: str
    citizen: int  # index into CITIZEN_ROWS
    title: str
    body: str
    state: str
    kind: str = ArticleKind.EMAIL
    data: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    priority: int = 2
    note: str = ""
    note_by: str = ""  # default: the owner
    reply: str = ""
    followup: str = ""
    pending_days: int = 0
    attachments: tuple[str, ...] = ()
    reply_attachments: tuple[str, ...] = ()
    merge_into: str = ""
    link_to: str = ""
    link_kind: str = LinkKind.NORMAL

    @property
    def message_id(self) -> str:
        """Marks the case as loaded (it stays on an article even after a merge)."""
        return f"<demo-{self.key}@vorgang.demo>"


S = StateKind

CASES: list[CaseSpec] = [
    # --- Führerscheinstelle ---------------------------------------------------------------------
    CaseSpec(
        "fs01",
        "fs",
        0,
        "Umtausch Führerschein (Papierführerschein) in Kartenführerschein",
        "Antrag über das Online-Formular „Führerschein umtauschen“.\n\n"
        "Ich möchte meinen grauen Papierführerschein (Klasse 3, ausgestellt 1987) in einen "
        "EU-Kartenführerschein umtauschen. Ein biometrisches Passbild lade ich im Termin mit hoch.",
        S.NEW,
        kind=ArticleKind.WEB,
        data={
            "leistung": "Umtausch Führerschein",
            "fuehrerscheinklassen": ["3"],
            "ausstellungsjahr": 1987,
            "ausstellende_behoerde": "Landratsamt Musterkreis",
            "geburtsdatum": "1961-04-17",
            "zustellung": "Abholung",
        },
        tags=("Umtausch", "Online-Antrag"),
    ),
    CaseSpec(
        "fs02",
        "fs",
        6,
        "Führerschein gestohlen – Ersatzführerschein",
        "Sehr geehrte Damen und Herren,\n\n"
        "am Samstag wurde mir in der Innenstadt die Geldbörse gestohlen, mit Führerschein und "
        "Personalausweis. Die Anzeige bei der Polizei ist erstattet. Was muss ich tun, um einen "
        "Ersatzführerschein zu bekommen? Ich bin beruflich auf das Auto angewiesen.\n\n"
        "Mit freundlichen Grüßen\nElias Braun",
        S.OPEN,
        tags=("Verlust",),
        priority=3,
        reply="Sehr geehrter Herr Braun,\n\n"
        "für den Ersatzführerschein benötigen wir die Verlustanzeige der Polizei, ein "
        "biometrisches Passbild und ein gültiges Ausweisdokument. Da auch Ihr Personalausweis "
        "gestohlen wurde, genügt ein Reisepass oder der vorläufige Personalausweis aus dem "
        "Bürgerbüro. Auf Wunsch stellen wir eine befristete Prüfbescheinigung aus, mit der Sie "
        "sofort wieder fahren dürfen.",
        followup="Vielen Dank! Ich komme am Donnerstag mit dem vorläufigen Ausweis vorbei.",
    ),
    CaseSpec(
        "fs03",
        "fs",
        4,
        "Internationaler Führerschein für Reise in die USA",
        "Guten Tag,\n\nwir fliegen im Sommer in die USA und möchten dort ein Auto mieten. "
        "Brauche ich einen internationalen Führerschein und wie lange dauert die Ausstellung?\n\n"
        "Viele Grüße\nMaximilian Weber",
        S.CLOSED,
        tags=("Ausland",),
        priority=1,
        reply="Sehr geehrter Herr Weber,\n\nden Internationalen Führerschein stellen wir sofort "
        "aus, wenn Sie mit Kartenführerschein, Personalausweis und einem Passbild vorsprechen. "
        "Die Gebühr beträgt 16,30 Euro.",
        followup="Erledigt, ich habe ihn heute abgeholt. Danke!",
    ),
    CaseSpec(
        "fs04",
        "fs",
        2,
        "Umschreibung eines türkischen Führerscheins",
        "Merhaba,\n\nich wohne seit acht Monaten in Musterstadt und habe einen türkischen "
        "Führerschein (Klasse B). Ich habe gelesen, dass er nur sechs Monate gilt. Wie kann ich "
        "ihn umschreiben lassen?\n\nMehmet Öztürk",
        S.PENDING_REMINDER,
        tags=("Ausland", "Umschreibung"),
        note="Türkei steht nicht auf Anlage 11 FeV: theoretische und praktische Prüfung nötig. "
        "Übersetzung durch anerkannten Übersetzer anfordern.",
        note_by="thomas.schulz",
        reply="Sehr geehrter Herr Öztürk,\n\nfür die Umschreibung benötigen wir eine "
        "Übersetzung Ihres Führerscheins durch einen in Deutschland anerkannten Übersetzer, einen "
        "Sehtest, den Nachweis über einen Erste-Hilfe-Kurs und ein Passbild. Da die Türkei nicht "
        "zu den Staaten mit vereinfachter Umschreibung gehört, sind eine theoretische und eine "
        "praktische Prüfung abzulegen. Bitte senden Sie uns die Unterlagen zu.",
        pending_days=10,
    ),
    CaseSpec(
        "fs05",
        "fs",
        8,
        "Ersterteilung Klasse B – Antrag über Fahrschule Lenkrad",
        "Antrag über das Online-Formular „Fahrerlaubnis beantragen“ (eingereicht durch die "
        "Fahrschule Lenkrad GmbH).",
        S.NEW,
        kind=ArticleKind.WEB,
        data={
            "leistung": "Ersterteilung Fahrerlaubnis",
            "klasse": "B",
            "bewerber": "Luisa Koch",
            "geburtsdatum": "2007-09-02",
            "sehtest_vorhanden": True,
            "erste_hilfe_vorhanden": True,
            "fahrschule": "Fahrschule Lenkrad GmbH",
        },
        tags=("Ersterteilung", "Online-Antrag"),
    ),
    CaseSpec(
        "fs06",
        "fs",
        13,
        "Begleitetes Fahren ab 17 – Begleitperson nachtragen",
        "Hallo,\n\nmeine Tochter hat die Prüfung für BF17 bestanden. Wir möchten meinen Mann als "
        "zweite Begleitperson nachtragen lassen. Geht das per E-Mail?\n\nLea Neumann",
        S.OPEN,
        tags=("BF17",),
        reply="Sehr geehrte Frau Neumann,\n\nbitte senden Sie uns den Antrag auf Nachtrag einer "
        "Begleitperson mit Kopie des Führerscheins Ihres Mannes. Einen Auszug aus dem "
        "Fahreignungsregister fordern wir selbst an.",
    ),
    CaseSpec(
        "fs07",
        "fs",
        5,
        "Muss ich nach dem Umzug meinen Führerschein ändern?",
        "Guten Tag,\n\nich bin innerhalb von Musterstadt umgezogen. Muss die neue Anschrift im "
        "Führerschein eingetragen werden?\n\nMarie Meyer",
        S.CLOSED,
        priority=1,
        reply="Sehr geehrte Frau Meyer,\n\nnein, im Kartenführerschein steht keine Anschrift. "
        "Eine Änderung ist nicht nötig.",
    ),
    CaseSpec(
        "fs08",
        "fs",
        16,
        "Terminanfrage Führerscheinstelle",
        "Hallo, ich brauche dringend einen Termin zur Verlängerung meines LKW-Führerscheins, im "
        "Online-Kalender ist nichts mehr frei. Noah Lange",
        S.NEW,
        tags=("Termin",),
    ),
    CaseSpec(
        "fs09",
        "fs",
        18,
        "Verlängerung Fahrerlaubnis Klassen C und CE",
        "Sehr geehrte Damen und Herren,\n\nmeine Klassen C und CE laufen in zwei Monaten ab. "
        "Anbei die ärztliche Bescheinigung. Der Sehtest folgt nächste Woche.\n\n"
        "Mit freundlichen Grüßen\nFelix Krause",
        S.PENDING_REMINDER,
        tags=("Verlängerung", "Berufskraftfahrer"),
        attachments=("gutachten",),
        reply="Sehr geehrter Herr Krause,\n\ndie Bescheinigung liegt uns vor. Sobald der "
        "Sehtest eingeht, bearbeiten wir Ihren Antrag.",
        pending_days=14,
    ),
    CaseSpec(
        "fs10",
        "fs",
        10,
        "Neuerteilung der Fahrerlaubnis nach Entziehung",
        "Guten Tag,\n\nmeine Sperrfrist endet im nächsten Monat. Das positive MPU-Gutachten "
        "liegt vor. Wie beantrage ich die Neuerteilung?\n\nPaul Klein",
        S.PENDING_CLOSE,
        tags=("Neuerteilung",),
        note="MPU-Gutachten positiv, Akte aus Musterkreis angefordert.",
        reply="Sehr geehrter Herr Klein,\n\nIhren Antrag haben wir erhalten; die Fahrerlaubnis "
        "kann nach Ablauf der Sperrfrist ausgehändigt werden. Wir schließen den Vorgang in einer "
        "Woche, sofern keine Fragen mehr offen sind.",
        pending_days=7,
    ),
    CaseSpec(
        "fs11",
        "fs",
        6,
        "Nochmal: Führerschein weg, Prüfbescheinigung?",
        "Hallo, ich hatte schon geschrieben wegen meines gestohlenen Führerscheins. Kann ich die "
        "Prüfbescheinigung auch vorab per Post bekommen? Elias Braun",
        S.MERGED,
        merge_into="fs02",
    ),
    CaseSpec(
        "fs12",
        "fs",
        9,
        "Namensänderung nach Heirat – neuer Führerschein nötig?",
        "Hallo,\n\nich habe geheiratet und heiße jetzt Richter statt Sommer. Brauche ich einen "
        "neuen Führerschein?\n\nEmilia Richter",
        S.NEW,
    ),
    CaseSpec(
        "fs13",
        "fs",
        22,
        "Pflichtumtausch: Kartenführerschein von 2003",
        "Sehr geehrte Damen und Herren,\n\nich habe ein Schreiben bekommen, dass mein "
        "Kartenführerschein aus dem Jahr 2003 umgetauscht werden muss. Bis wann?\n\n"
        "Ursula Schmitz",
        S.OPEN,
        tags=("Umtausch",),
        reply="Sehr geehrte Frau Schmitz,\n\nKartenführerscheine aus den Jahren 2002 bis 2004 "
        "sind bis 19.01.2027 umzutauschen. Bitte vereinbaren Sie online einen Termin.",
    ),
    CaseSpec(
        "fs14",
        "fs",
        12,
        "Abholung des Führerscheins durch meine Lebensgefährtin",
        "Hallo,\n\nich bin auf Montage und kann den neuen Führerschein nicht selbst abholen. "
        "Anbei eine Vollmacht für meine Lebensgefährtin Mia Wolf.\n\nBen Schröder",
        S.CLOSED,
        attachments=("vollmacht",),
        reply="Sehr geehrter Herr Schröder,\n\ndie Vollmacht genügt. Frau Wolf kann den "
        "Führerschein mit ihrem Ausweis und einer Kopie Ihres Ausweises abholen.",
    ),
    # --- Standesamt -------------------------------------------------------------------------------
    CaseSpec(
        "sta01",
        "sta",
        20,
        "Anmeldung zur Eheschließung mit Auslandsbezug (Serbien)",
        "Sehr geehrte Damen und Herren,\n\nmein Verlobter (deutscher Staatsangehöriger) und ich "
        "(serbische Staatsangehörige) möchten im September in Musterstadt heiraten. Welche "
        "Unterlagen brauchen wir? Meine Geburtsurkunde schicke ich als Scan vorab mit.\n\n"
        "Mit freundlichen Grüßen\nDragana Petrović",
        S.PENDING_REMINDER,
        tags=("Eheschließung", "Ausland"),
        attachments=("geburtsurkunde",),
        note="Ehefähigkeitszeugnis aus Serbien nötig; Apostille auf der Geburtsurkunde prüfen. "
        "Übersetzung muss von in DE vereidigtem Übersetzer sein.",
        reply="Sehr geehrte Frau Petrović,\n\nvielen Dank für den Scan. Im Anhang finden Sie "
        "unser Merkblatt. Für Sie benötigen wir zusätzlich ein Ehefähigkeitszeugnis der "
        "serbischen Behörden mit beglaubigter Übersetzung. Bitte melden Sie sich, sobald es "
        "vorliegt; dann vereinbaren wir den Termin zur Anmeldung.",
        reply_attachments=("merkblatt",),
        pending_days=21,
    ),
    CaseSpec(
        "sta02",
        "sta",
        22,
        "Geburtsurkunde für den Rentenantrag",
        "Antrag über das Online-Formular „Personenstandsurkunde bestellen“.",
        S.CLOSED,
        kind=ArticleKind.WEB,
        data={
            "leistung": "Geburtsurkunde",
            "anzahl": 2,
            "zweck": "Rentenversicherung",
            "geburtsjahr": 1958,
            "geburtsort": "Musterstadt",
            "versand": "Post",
        },
        tags=("Urkunde", "Online-Antrag"),
        reply="Sehr geehrte Frau Schmitz,\n\nIhre zwei Geburtsurkunden sind heute per Post an "
        "Sie gegangen. Für Zwecke der Rentenversicherung sind sie gebührenfrei.",
    ),
    CaseSpec(
        "sta03",
        "sta",
        23,
        "Sterbeurkunden für Nachlass und Versicherungen",
        "Guten Tag,\n\nmeine Mutter ist am 3. des Monats im Klinikum Musterstadt verstorben. Ich "
        "benötige fünf Sterbeurkunden für Bank, Versicherungen und Nachlassgericht.\n\n"
        "Heinz-Dieter Baumann",
        S.OPEN,
        tags=("Urkunde",),
        reply="Sehr geehrter Herr Baumann,\n\nunser herzliches Beileid. Der Sterbefall ist "
        "beurkundet; die fünf Urkunden senden wir Ihnen nach Eingang der Gebühr zu.",
    ),
    CaseSpec(
        "sta04",
        "sta",
        19,
        "Trauung im Trauzimmer des Rathauses – Terminreservierung",
        "Sehr geehrtes Standesamt,\n\nim Auftrag des Brautpaares Wolf/Lange möchten wir den "
        "Trauzimmer-Termin am zweiten Freitag im Juni vormerken lassen.\n\n"
        "Clara Lehmann, Hochzeitsagentur Rosengarten",
        S.PENDING_REMINDER,
        tags=("Eheschließung", "Termin"),
        reply="Sehr geehrte Frau Lehmann,\n\nwir haben den Termin vorläufig vorgemerkt. Die "
        "Reservierung wird verbindlich, wenn das Brautpaar die Eheschließung angemeldet hat.",
        pending_days=-2,
    ),
    CaseSpec(
        "sta05",
        "sta",
        9,
        "Namenserklärung nach der Eheschließung",
        "Hallo,\n\nwir haben im Mai in Italien geheiratet. Ich möchte den Namen meines Mannes "
        "annehmen. Wie gebe ich die Namenserklärung ab?\n\nEmilia Richter",
        S.NEW,
        tags=("Namensrecht",),
        link_to="fs12",
    ),
    CaseSpec(
        "sta06",
        "sta",
        24,
        "Vaterschaftsanerkennung vor der Geburt",
        "Guten Tag,\n\nmein Partner und ich sind nicht verheiratet und erwarten im Herbst unser "
        "Kind. Wir möchten die Vaterschaft schon vor der Geburt anerkennen lassen.\n\n"
        "Fatma Demir",
        S.OPEN,
        tags=("Termin",),
        reply="Sehr geehrte Frau Demir,\n\ndie Anerkennung ist schon vor der Geburt möglich. "
        "Bitte kommen Sie beide mit Ausweis und Mutterpass; Termine bieten wir dienstags an.",
    ),
    CaseSpec(
        "sta07",
        "sta",
        14,
        "Kirchenaustritt",
        "Hallo, ich möchte aus der Kirche austreten. Was muss ich mitbringen? Finn Schwarz",
        S.CLOSED,
        priority=1,
        reply="Sehr geehrter Herr Schwarz,\n\nbitte bringen Sie Ihren Personalausweis mit; die "
        "Gebühr beträgt 30 Euro. Eine Terminvereinbarung ist nicht nötig.",
        followup="Danke, war heute da.",
    ),
    CaseSpec(
        "sta08",
        "sta",
        1,
        "Eheurkunde mit Apostille für die Anerkennung in Frankreich",
        "Bonjour,\n\nfür die Anerkennung unserer Ehe in Frankreich brauche ich eine "
        "internationale Eheurkunde. Ist eine Apostille nötig?\n\nSophie Schneider",
        S.PENDING_CLOSE,
        tags=("Urkunde", "Ausland"),
        reply="Sehr geehrte Frau Schneider,\n\nfür Frankreich genügt die mehrsprachige "
        "Eheurkunde nach dem Wiener Übereinkommen, eine Apostille ist nicht nötig. Die Urkunde "
        "ist unterwegs.",
        pending_days=7,
    ),
    CaseSpec(
        "sta09",
        "sta",
        21,
        "Nachbeurkundung einer Geburt in Polen",
        "Dzień dobry,\n\nunser Sohn ist in Krakau geboren. Ich bin deutscher Staatsangehöriger "
        "und möchte die Geburt im deutschen Geburtenregister nachbeurkunden lassen.\n\n"
        "Jan Kowalski",
        S.NEW,
        tags=("Ausland", "Urkunde"),
    ),
    CaseSpec(
        "sta10",
        "sta",
        20,
        "Ehefähigkeitszeugnis – Nachtrag zu unserer Anmeldung",
        "Guten Tag,\n\ndas serbische Konsulat stellt das Ehefähigkeitszeugnis in drei Wochen "
        "aus. Reicht es, wenn wir es dann nachreichen?\n\nDragana Petrović",
        S.MERGED,
        merge_into="sta01",
    ),
    CaseSpec(
        "sta11",
        "sta",
        17,
        "Einbenennung meines Sohnes",
        "Hallo,\n\nmein Sohn soll den Familiennamen meines Ehemannes bekommen. Was brauchen wir "
        "für die Einbenennung?\n\nElla Werner",
        S.NEW,
        tags=("Namensrecht",),
    ),
    CaseSpec(
        "sta12",
        "sta",
        15,
        "Umwandlung der Lebenspartnerschaft in eine Ehe",
        "Guten Tag,\n\nmeine Partnerin und ich leben seit 2012 in eingetragener "
        "Lebenspartnerschaft und möchten sie in eine Ehe umwandeln.\n\nLina Hartmann",
        S.OPEN,
        tags=("Eheschließung",),
        reply="Sehr geehrte Frau Hartmann,\n\ndie Umwandlung erklären Sie beide persönlich vor "
        "dem Standesamt. Bitte bringen Sie Ihre Ausweise und die Urkunde über die "
        "Lebenspartnerschaft mit.",
    ),
    # --- Bürgerbüro -------------------------------------------------------------------------------
    CaseSpec(
        "bb01",
        "bb",
        7,
        "Anmeldung des Wohnsitzes nach Zuzug",
        "Antrag über das Online-Formular „Wohnsitz anmelden“.",
        S.OPEN,
        kind=ArticleKind.WEB,
        data={
            "leistung": "Wohnsitzanmeldung",
            "einzugsdatum": "2025-05-01",
            "bisherige_anschrift": "Am Hafen 2, 20457 Hamburg",
            "neue_anschrift": "Hauptstraße 88, 12345 Musterstadt",
            "personen": 2,
            "wohnungsgeberbestaetigung": True,
        },
        tags=("Melderecht", "Online-Antrag"),
        reply="Sehr geehrte Frau Zimmermann,\n\nIhre Anmeldung ist eingegangen. Bitte bringen "
        "Sie zur Aktualisierung der Anschrift Ihren Personalausweis vorbei.",
    ),
    CaseSpec(
        "bb02",
        "bb",
        3,
        "Personalausweis beantragt – wann kann ich ihn abholen?",
        "Hallo,\n\nich habe vor drei Wochen einen neuen Personalausweis beantragt. Ist er schon "
        "da?\n\nAnna Fischer",
        S.CLOSED,
        tags=("Personalausweis",),
        reply="Sehr geehrte Frau Fischer,\n\nIhr Ausweis liegt zur Abholung bereit. Bitte "
        "bringen Sie den alten Ausweis mit.",
    ),
    CaseSpec(
        "bb03",
        "bb",
        0,
        "Reisepass im Expressverfahren",
        "Guten Tag,\n\nich habe kurzfristig eine Dienstreise nach Kanada und mein Pass läuft ab. "
        "Ist ein Expresspass möglich?\n\nLukas Müller",
        S.PENDING_REMINDER,
        tags=("Reisepass",),
        priority=3,
        reply="Sehr geehrter Herr Müller,\n\nja, der Expresspass ist in drei Werktagen da. "
        "Wir melden uns, sobald er eingetroffen ist.",
        pending_days=-1,
    ),
    CaseSpec(
        "bb04",
        "bb",
        6,
        "Personalausweis gestohlen – vorläufiger Ausweis",
        "Sehr geehrte Damen und Herren,\n\nmir wurde die Geldbörse mit Personalausweis und "
        "Führerschein gestohlen. Ich brauche einen neuen Ausweis und bis dahin einen "
        "vorläufigen.\n\nElias Braun",
        S.OPEN,
        tags=("Personalausweis", "Verlust"),
        note="Ausweis im Sperrregister gesperrt. Führerschein-Vorgang läuft parallel.",
        reply="Sehr geehrter Herr Braun,\n\nden vorläufigen Personalausweis stellen wir sofort "
        "aus; bitte bringen Sie ein Passbild und die Verlustanzeige mit.",
        link_to="fs02",
    ),
    CaseSpec(
        "bb05",
        "bb",
        0,
        "Meldebescheinigung für den Arbeitgeber",
        "Antrag über das Online-Formular „Meldebescheinigung“.",
        S.CLOSED,
        kind=ArticleKind.WEB,
        data={"leistung": "Meldebescheinigung", "art": "einfach", "versand": "elektronisch"},
        tags=("Melderecht", "Online-Antrag"),
        reply="Sehr geehrter Herr Müller,\n\nIhre Meldebescheinigung steht im Postfach Ihres "
        "Nutzerkontos bereit.",
    ),
    CaseSpec(
        "bb06",
        "bb",
        3,
        "Abmeldung ins Ausland (Spanien)",
        "Hallo,\n\nich ziehe Ende des Monats nach Valencia. Wie melde ich mich ab?\n\nAnna Fischer",
        S.PENDING_CLOSE,
        tags=("Melderecht", "Ausland"),
        reply="Sehr geehrte Frau Fischer,\n\ndie Abmeldung ist frühestens eine Woche vor dem "
        "Auszug möglich, auch schriftlich. Die Abmeldebestätigung senden wir Ihnen zu.",
        pending_days=7,
    ),
    CaseSpec(
        "bb07",
        "bb",
        16,
        "Führungszeugnis für neuen Arbeitgeber",
        "Ich brauche ein erweitertes Führungszeugnis für meine Arbeit in der Jugendhilfe. "
        "Kann ich das bei Ihnen beantragen? Noah Lange",
        S.NEW,
    ),
    CaseSpec(
        "bb08",
        "bb",
        17,
        "Nebenwohnsitz zum Hauptwohnsitz machen",
        "Hallo,\n\nich wohne jetzt überwiegend in Musterstadt. Kann ich meinen Nebenwohnsitz "
        "zum Hauptwohnsitz machen?\n\nElla Werner",
        S.NEW,
        tags=("Melderecht",),
    ),
    CaseSpec(
        "bb09",
        "bb",
        14,
        "Wohnungsgeberbestätigung fehlt bei der Anmeldung",
        "Guten Tag,\n\nmein Vermieter hat mir die Wohnungsgeberbestätigung noch nicht gegeben. "
        "Kann ich mich trotzdem anmelden?\n\nFinn Schwarz",
        S.OPEN,
        tags=("Melderecht",),
        note="Frist nach § 17 BMG beachten; ggf. Vermieter anschreiben.",
        reply="Sehr geehrter Herr Schwarz,\n\nbitte reichen Sie die Bestätigung innerhalb von "
        "zwei Wochen nach. Die Anmeldung nehmen wir schon jetzt auf.",
    ),
    CaseSpec(
        "bb10",
        "bb",
        10,
        "Auskunftssperre im Melderegister",
        "Sehr geehrte Damen und Herren,\n\nich werde von einer früheren Bekanntschaft bedroht "
        "und möchte eine Auskunftssperre eintragen lassen.\n\nPaul Klein",
        S.OPEN,
        tags=("Melderecht", "Dringend"),
        priority=3,
        note="Bitte vorrangig bearbeiten; Nachweise zur Gefährdung angefordert.",
        reply="Sehr geehrter Herr Klein,\n\nwir haben eine vorläufige Sperre eingetragen. Bitte "
        "senden Sie uns Nachweise zur Gefährdung, etwa eine Anzeige.",
    ),
    CaseSpec(
        "bb11",
        "bb",
        11,
        "Beglaubigung von Zeugniskopien",
        "Hallo, kann ich bei Ihnen Zeugniskopien beglaubigen lassen? Mia Wolf",
        S.CLOSED,
        priority=1,
        reply="Sehr geehrte Frau Wolf,\n\nja, jede Beglaubigung kostet 5 Euro. Bitte bringen Sie "
        "die Originale mit.",
    ),
    CaseSpec(
        "bb12",
        "bb",
        7,
        "Bewohnerparkausweis für die Hauptstraße",
        "Hallo,\n\nnach meinem Zuzug brauche ich einen Bewohnerparkausweis für Zone B.\n\n"
        "Hannah Zimmermann",
        S.NEW,
        link_to="bb01",
        link_kind=LinkKind.CHILD,
    ),
    CaseSpec(
        "bb13",
        "bb",
        14,
        "Wohnungsgeberbestätigung nachgereicht",
        "Anbei die Wohnungsgeberbestätigung meines Vermieters.\n\nFinn Schwarz",
        S.MERGED,
        attachments=("wohnungsgeber",),
        merge_into="bb09",
    ),
    CaseSpec(
        "bb14",
        "bb",
        5,
        "PIN für die Online-Ausweisfunktion vergessen",
        "Guten Tag,\n\nich habe die PIN für meinen Personalausweis vergessen. Wie bekomme ich "
        "eine neue?\n\nMarie Meyer",
        S.PENDING_REMINDER,
        tags=("Personalausweis",),
        reply="Sehr geehrte Frau Meyer,\n\nmit Ihrer PUK können Sie bei uns eine neue PIN "
        "setzen. Wir haben Ihnen einen Termin am kommenden Dienstag reserviert.",
        pending_days=5,
    ),
]

# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    citizens: list[CitizenSpec]
    owners: dict[str, str]  # case key -> login of the agent who works it


def build_plan(seed: int = SEED) -> Plan:
    """Everything random, decided before anything is written."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    citizens = _citizens(rng)
    owners = {}
    for case in CASES:
        # The head of citizen services takes about one case in five herself.
        owners[case.key] = "petra.wagner" if rng.random() < 0.2 else CASE_WORKER[case.department]
    return Plan(citizens=citizens, owners=owners)


# --- loading ------------------------------------------------------------------------------------


@dataclass
class Result:
    departments: int = 0
    staff: int = 0
    citizens: int = 0
    cases: int = 0
    staff_rows: list[tuple[str, str, str, str]] = field(default_factory=list)


class DemoError(Exception):
    pass


def has_foreign_cases() -> bool:
    """True if the database holds cases of departments that are not the demo's."""
    return Ticket.objects.exclude(department__email_address__in=DEMO_ADDRESSES).exists()


def load(*, tenant: Tenant | None = None, seed: int = SEED, force: bool = False) -> Result:
    if not force and has_foreign_cases():
        raise DemoError(
            "This database holds cases that are not demo data; the demo is not mixed into "
            "them. Use a fresh database (VORGANG_DATA_DIR), or --force to load anyway."
        )
    tenant = tenant or Tenant.default()
    plan = build_plan(seed)
    result = Result()
    with translation.override("de"):
        with transaction.atomic():
            departments = _departments(tenant, result)
            catalogue_demo.load(tenant)
            staff = _staff(tenant, departments, result)
            citizens = _citizens_in_db(tenant, plan, result)
        for case in CASES:
            if Article.objects.filter(message_id=case.message_id).exists():
                continue
            with transaction.atomic():
                _case(case, departments, staff, citizens, plan)
            result.cases += 1
    result.staff_rows = staff_table(departments)
    return result


def _departments(tenant: Tenant, result: Result) -> dict[str, Department]:
    found = {}
    for spec in DEPARTMENTS:
        department = Department.objects.filter(email_address__iexact=spec.address).first()
        if department is None:
            try:
                department = accounts.create_department(
                    spec.name, address=spec.address, tenant=tenant, signature=spec.signature
                )
            except InvalidInput as exc:
                raise DemoError(exc.message) from exc
            result.departments += 1
        found[spec.key] = department
    return found


def _staff(tenant: Tenant, departments: dict[str, Department], result: Result) -> dict[str, User]:
    found = {}
    for spec in STAFF:
        user = User.objects.filter(username=spec.login).first()
        if user is None:
            user = accounts.create_user(
                spec.login,
                email=spec.email,
                role=spec.role,
                password=PASSWORD,
                first_name=spec.first_name,
                last_name=spec.last_name,
                tenant=tenant,
            )
            result.staff += 1
        elif user.email != spec.email or user.role != spec.role:
            if spec.role == Role.ADMIN:
                continue  # someone else's admin: left alone, the demo does not need it
            raise DemoError(
                f"A user {spec.login!r} exists already and is not the demo's; "
                "load the demo into a fresh database."
            )
        for key, levels in spec.grants.items():
            for level in levels:
                accounts.grant_access(departments[key], spec.login, level)
        found[spec.login] = user
    return found


def _citizens_in_db(tenant: Tenant, plan: Plan, result: Result) -> list[User]:
    organisations = {}
    for name, note in ORGANISATIONS:
        organisations[name], _created = Organisation.objects.get_or_create(
            tenant=tenant, name=name, defaults={"note": note}
        )
    users = []
    for spec in plan.citizens:
        known = User.objects.filter(
            tenant=tenant, role=Role.CITIZEN, email__iexact=spec.email
        ).exists()
        user = accounts.find_or_create_citizen(
            tenant,
            spec.email,
            first_name=spec.first_name,
            last_name=spec.last_name,
            phone=spec.phone,
            address=spec.address,
            external_id=spec.external_id,
            trust_level=spec.trust_level,
        )
        if not known:
            result.citizens += 1
        if spec.organisation and user.organisation_id is None:
            user.organisation = organisations[spec.organisation]
            user.save(update_fields=["organisation"])
        users.append(user)
    return users


def _at_nine(days: int) -> datetime:
    """``days`` from today at 9:00 local time (negative: in the past)."""
    moment = timezone.localtime(clock.now()) + timedelta(days=days)
    return moment.replace(hour=9, minute=0, second=0, microsecond=0)


def _case(
    spec: CaseSpec,
    departments: dict[str, Department],
    staff: dict[str, User],
    citizens: list[User],
    plan: Plan,
) -> Ticket:
    department = departments[spec.department]
    citizen = citizens[spec.citizen]
    person = plan.citizens[spec.citizen]
    agent = staff[plan.owners[spec.key]]
    if spec.merge_into:
        # A duplicate is worked by whoever works the case it goes into.
        target_key = spec.merge_into
        agent = staff[plan.owners[target_key]]
    dept_mailbox = f"{department.name} <{department.email_address}>"

    first = ArticleInput(
        body=spec.body,
        kind=spec.kind,
        sender=SenderKind.CITIZEN,
        subject=spec.title,
        from_addr=person.mailbox,
        to=dept_mailbox,
        message_id=spec.message_id,
        attachments=tuple(FILES[name]() for name in spec.attachments),
    )
    ticket = services.create_ticket(
        None,
        department=department,
        title=spec.title,
        citizen=citizen,
        priority=spec.priority,
        data=spec.data,
        tags=spec.tags,
        owner=agent if spec.state not in (StateKind.NEW, StateKind.MERGED) else None,
        article=first,
    )
    if spec.note:
        author = staff[spec.note_by] if spec.note_by else agent
        services.add_article(
            author, ticket, ArticleInput(body=spec.note, kind=ArticleKind.NOTE, internal=True)
        )
    last_message_id = spec.message_id
    if spec.reply:
        reply_id = f"<demo-{spec.key}-reply@stadt.example>"
        reply = services.add_article(
            agent,
            ticket,
            ArticleInput(
                body=f"{spec.reply}\n\n{department.signature}",
                kind=ArticleKind.EMAIL,
                subject=f"[Vorgang#{ticket.number}] {spec.title}",
                from_addr=dept_mailbox,
                to=person.email,
                in_reply_to=spec.message_id,
                references=spec.message_id,
                attachments=tuple(FILES[name]() for name in spec.reply_attachments),
            ),
        )
        # Recorded as sent before the commit, so it is never queued for delivery.
        services.record_delivery(reply.pk, sent=True, message_id=reply_id)
        last_message_id = reply_id
    if spec.followup:
        services.add_article(
            None,
            ticket,
            ArticleInput(
                body=spec.followup,
                kind=ArticleKind.EMAIL,
                sender=SenderKind.CITIZEN,
                subject=f"Re: [Vorgang#{ticket.number}] {spec.title}",
                from_addr=person.mailbox,
                to=dept_mailbox,
                message_id=f"<demo-{spec.key}-followup@{person.email.partition('@')[2]}>",
                in_reply_to=last_message_id,
                references=f"{spec.message_id} {last_message_id}",
            ),
        )

    if spec.state == StateKind.MERGED:
        target = _loaded(spec.merge_into)
        services.merge(agent, ticket, target)
    elif spec.state in (StateKind.PENDING_REMINDER, StateKind.PENDING_CLOSE):
        services.change_state(agent, ticket, spec.state, pending_until=_at_nine(spec.pending_days))
    elif spec.state != StateKind.NEW:
        services.change_state(agent, ticket, spec.state)

    if spec.link_to:
        other = _loaded(spec.link_to)
        same = other.department_id == ticket.department_id
        # Across departments only someone with access to both may link.
        linker = agent if same else staff["petra.wagner"]
        services.link(linker, ticket, other, spec.link_kind)
    return ticket


def _loaded(key: str) -> Ticket:
    """A demo case loaded before this one (found by its first message)."""
    article = Article.objects.select_related("ticket").filter(
        message_id=f"<demo-{key}@vorgang.demo>"
    )
    found = article.first()
    if found is None:
        raise DemoError(f"Demo case {key} is missing.")
    return found.ticket


def staff_table(departments: dict[str, Department]) -> list[tuple[str, str, str, str]]:
    """(login, role, access, password) for each demo staff account, read from the database."""
    rows = []
    for spec in STAFF:
        user = User.objects.filter(username=spec.login).first()
        if user is None:
            continue
        ours = user.email == spec.email
        levels: dict[str, list[str]] = {}
        order = list(AccessLevel.values)
        for name, level in (
            DepartmentAccess.objects.filter(user=user)
            .order_by("department__name")
            .values_list("department__name", "level")
        ):
            levels.setdefault(name, []).append(level)
        if levels:
            access = "; ".join(
                f"{name}: {','.join(sorted(held, key=order.index))}"
                for name, held in levels.items()
            )
        else:
            access = "none (configures the system, opens no case)"
        rows.append((user.username, user.role, access, PASSWORD if ours else "(not the demo's)"))
    return rows
