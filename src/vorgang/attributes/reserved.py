"""Names a case attribute may not take: they are built-in fields somewhere a case is written.

Attribute values travel in the same JSON object as the built-in ticket fields of the
Zammad-compatible API (``{"title": ..., "group": ..., "service_type": ...}``), so an
attribute named like a built-in field would be ambiguous. This is the one list.
"""

from __future__ import annotations

# Fields of Zammad's ticket API (input and output).
ZAMMAD_TICKET_FIELDS = frozenset(
    {
        "id",
        "number",
        "title",
        "group",
        "group_id",
        "state",
        "state_id",
        "priority",
        "priority_id",
        "owner",
        "owner_id",
        "customer",
        "customer_id",
        "organization",
        "organization_id",
        "article",
        "articles",
        "article_ids",
        "article_count",
        "tags",
        "links",
        "mentions",
        "pending_time",
        "note",
        "type",
        "time_unit",
        "created_at",
        "updated_at",
        "created_by",
        "created_by_id",
        "updated_by",
        "updated_by_id",
        "close_at",
        "closed_at",
        "first_response_at",
        "last_contact_at",
        "last_contact_agent_at",
        "last_contact_customer_at",
        "last_owner_update_at",
        "escalation_at",
        "update_escalation_at",
        "close_escalation_at",
        "first_response_escalation_at",
        "preferences",
        "checklist",
        "expand",
        "page",
        "per_page",
        "query",
    }
)

# Vorgang's own ticket fields and API additions.
VORGANG_TICKET_FIELDS = frozenset(
    {
        "tenant",
        "department",
        "citizen",
        "organisation",
        "service",
        "data",
        "attributes",
        "pending_until",
        "merged_into",
        "reply_token",
        "history_head",
        "case_url",
        # ``History.field`` values of built-in changes (links, case page links).
        "normal",
        "parent",
        "child",
        "case_links",
    }
)

# Words Zammad's object manager refuses as attribute names (database and JavaScript words).
ZAMMAD_RESERVED_WORDS = frozenset(
    {
        "destroy",
        "true",
        "false",
        "integer",
        "select",
        "drop",
        "create",
        "alter",
        "index",
        "table",
        "varchar",
        "blob",
        "date",
        "datetime",
        "timestamp",
        "url",
        "icon",
        "initials",
        "avatar",
        "permission",
        "validate",
        "subscribe",
        "unsubscribe",
        "translate",
        "search",
        "action",
        "scope",
        "constructor",
        "object",
    }
)

RESERVED_NAMES = ZAMMAD_TICKET_FIELDS | VORGANG_TICKET_FIELDS | ZAMMAD_RESERVED_WORDS

# Zammad keeps these endings for relations (``group_id``, ``tag_ids``); so do we.
RESERVED_SUFFIXES = ("_id", "_ids")


def is_reserved(name: str) -> bool:
    return name in RESERVED_NAMES or name.endswith(RESERVED_SUFFIXES)
