from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# --- errors, cases, articles (Zammad's shapes; extra fields such as custom attributes
# and expanded names are allowed through, so these are plain pydantic models: Ninja's
# Schema reads declared fields only) -------------------------------------------------


class ErrorOut(BaseModel):
    error: str
    error_human: str


class TicketOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    number: str
    title: str
    group_id: int
    state_id: int
    priority_id: int
    owner_id: int | None
    customer_id: int | None
    organization_id: int | None
    created_at: str | None
    updated_at: str | None
    close_at: str | None
    pending_time: str | None
    first_response_at: str | None
    article_count: int
    created_by_id: int | None
    updated_by_id: int | None


class TicketSearchOut(BaseModel):
    tickets: list[int]
    tickets_count: int
    assets: dict[str, dict[str, TicketOut]]


class MergeOut(BaseModel):
    result: str
    source_ticket: TicketOut
    target_ticket: TicketOut


class HistoryEntryOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    o_id: int
    history_type: str
    history_object: str
    history_attribute: str | None
    value_from: str | None
    value_to: str | None
    id_from: int | None
    id_to: int | None
    created_by_id: int | None
    created_at: str | None


class HistoryOut(BaseModel):
    history: list[HistoryEntryOut]
    assets: dict[str, dict[str, dict[str, Any]]]


class AttachmentOut(BaseModel):
    id: int
    filename: str
    size: str
    preferences: dict[str, str]


class ArticleOut(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: int
    ticket_id: int
    type_id: int
    type: str
    sender_id: int
    sender: str
    from_: str = Field(alias="from")
    to: str
    cc: str
    subject: str
    body: str
    content_type: str
    internal: bool
    message_id: str | None
    in_reply_to: str | None
    created_at: str | None
    updated_at: str | None
    created_by_id: int | None
    updated_by_id: int | None
    attachments: list[AttachmentOut]
    preferences: dict[str, Any]
