"""Attachment text extraction: what is and is not handed to the PDF reader."""

from __future__ import annotations

import os

from vorgang.search import extract

from .pdf import make_pdf


def test_pdf_text_is_extracted() -> None:
    found, error = extract.extract(make_pdf(["Meldebescheinigung"]), "pdf")
    assert error == "" and "Meldebescheinigung" in found


def test_pdf_header_after_leading_bytes_is_still_read() -> None:
    # Readers accept some junk before "%PDF-" (as mail gateways sometimes add).
    found, error = extract.extract(b"\r\n" * 20 + make_pdf(["Geburtsurkunde"]), "pdf")
    assert error == "" and "Geburtsurkunde" in found


def test_bytes_without_a_pdf_header_are_not_parsed_as_pdf() -> None:
    found, error = extract.extract(os.urandom(200_000).replace(b"%PDF-", b"xxxxx"), "pdf")
    assert (found, error) == ("", "not a PDF")


def test_header_too_far_into_the_file_is_not_a_pdf() -> None:
    content = b"x" * 2048 + make_pdf(["Wohngeld"])
    assert extract.extract(content, "pdf") == ("", "not a PDF")


def test_broken_pdf_with_a_header_is_a_visible_error() -> None:
    found, error = extract.extract(b"%PDF-1.4 broken", "pdf")
    assert found == "" and error and error != "not a PDF"
