"""Downloading an attachment, if its case is readable for the user."""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponseBase

from vorgang.tickets import selectors

from .common import current_user, desk_view, error_page

log = logging.getLogger(__name__)


@desk_view
def attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    found = selectors.get_attachment(current_user(request), pk)  # NotFound: 404 page
    try:
        handle = default_storage.open(found.blob.path, "rb")
    except FileNotFoundError:
        log.error("attachment %s: blob %s is missing from storage", found.pk, found.blob.sha256)
        return error_page(request, 404)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=found.filename,
        content_type=found.content_type or "application/octet-stream",
    )
    # Always a download, never rendered by the browser in our origin.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
