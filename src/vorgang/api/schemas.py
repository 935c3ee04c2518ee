from __future__ import annotations

from ninja import Schema


class UserOut(Schema):
    id: int
    login: str
    firstname: str
    lastname: str
    email: str
    phone: str
    active: bool
    role: str
    organization_id: int | None
    group_ids: dict[str, list[str]]
    created_at: str | None
    updated_at: str | None
