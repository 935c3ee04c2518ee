"""The search index: one document per case, and extracted attachment text per blob.

A ``SearchDocument`` repeats the case's tenant, department, citizen, owner, state,
service and creation time so that the permission wall and the field filters are
conditions on the same row the text match hits (no join to the cases table).
The backend-specific parts live beside it and are created by the migrations:

- PostgreSQL: columns ``vector`` (all text, weighted A-D, GIN index) and
  ``public_vector`` (what a citizen may search: no internal notes; NULL when it
  equals ``vector``), a ``pg_trgm`` GIN index on ``name_key`` (the ``citizen:``
  filter), and the table ``search_nameword`` of the distinct name words with its own
  trigram index (typo tolerance).
- SQLite: the FTS5 table ``search_fts`` (rowid = ticket id) holding the stems.
"""

from __future__ import annotations

from django.db import models

from vorgang.tickets.models import Blob, Ticket


class SearchDocument(models.Model):
    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    tenant_id = models.BigIntegerField()
    department_id = models.BigIntegerField()
    citizen_id = models.BigIntegerField(null=True)
    owner_id = models.BigIntegerField(null=True)
    state_id = models.BigIntegerField()
    service_id = models.BigIntegerField(null=True)
    number = models.CharField(max_length=40)
    created_at = models.DateTimeField()
    # The citizen's name and e-mail address as name_key() gives them, for trigram matching.
    name_key = models.TextField(blank=True)
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The date indexes end in ticket_id, the tie-break of every date order: walking
        # one newest first finds the newest matches of a common word without sorting
        # them all (the department one for an agent of one department).
        indexes = [
            models.Index(
                fields=["tenant_id", "department_id", "created_at", "ticket_id"],
                name="search_doc_dep_created",
            ),
            models.Index(
                fields=["tenant_id", "created_at", "ticket_id"], name="search_doc_created"
            ),
            models.Index(fields=["citizen_id", "created_at"], name="search_doc_citizen"),
            models.Index(fields=["tenant_id", "state_id"], name="search_doc_state"),
            models.Index(fields=["owner_id"], name="search_doc_owner"),
            models.Index(fields=["number"], name="search_doc_number"),
        ]

    def __str__(self) -> str:
        return f"search document {self.ticket_id}"


class AttachmentText(models.Model):
    """Text extracted once from stored bytes (PDF, plain text), shared by all attachments."""

    blob = models.OneToOneField(Blob, primary_key=True, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(blank=True)
    # Why nothing was extracted (e.g. "encrypted", "timeout", "PdfReadError"), never content.
    error = models.CharField(max_length=200, blank=True)
    extracted_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"text of blob {self.blob_id}"
