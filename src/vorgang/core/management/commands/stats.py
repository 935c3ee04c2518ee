"""``vorgang stats [--json] [--tenant SLUG]``: how much is in the system (operators)."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count

from vorgang.accounts.models import Role, Tenant, User
from vorgang.channels.models import InboundMessage, InboundStatus
from vorgang.core.management.utils import add_tenant_argument, require_migrated, tenant_by_slug
from vorgang.tickets.models import Article, Attachment, State, Ticket


def collect(tenant: Tenant | None = None) -> dict[str, Any]:
    """Counts over all tenants, or over one."""
    tickets = Ticket.objects.all()
    articles = Article.objects.all()
    attachments = Attachment.objects.all()
    users = User.objects.all()
    if tenant is not None:
        tickets = tickets.filter(tenant=tenant)
        articles = articles.filter(ticket__tenant=tenant)
        attachments = attachments.filter(article__ticket__tenant=tenant)
        users = users.filter(tenant=tenant)

    per_state = dict(
        tickets.values_list("state_id").annotate(n=Count("pk")).values_list("state", "n")
    )
    per_role = dict(users.values_list("role").annotate(n=Count("pk")).values_list("role", "n"))
    return {
        "tickets": {
            state.name: per_state.get(state.pk, 0) for state in State.objects.order_by("pk")
        },
        "articles": articles.count(),
        "attachments": attachments.count(),
        "users": {role: per_role.get(role, 0) for role in Role.values},
        "inbound": _inbound_counts(tenant),
    }


def _inbound_counts(tenant: Tenant | None) -> dict[str, int]:
    messages = InboundMessage.objects.all()
    if tenant is not None:
        # Messages for no known recipient belong to no tenant and are counted only in all.
        messages = messages.filter(tenant=tenant)
    rows = messages.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    # Every status of the journal, in its order, zeros included.
    counts = dict.fromkeys(InboundStatus.values, 0)
    for status, n in rows:
        counts[str(status)] = n
    return counts


class Command(BaseCommand):
    help = "Count cases by state, articles, attachments, users by role and inbound messages."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON")
        add_tenant_argument(parser, "count one tenant only (default: all tenants)")

    def handle(self, *args: Any, **options: Any) -> None:
        require_migrated()
        tenant = tenant_by_slug(options["tenant"]) if options["tenant"] else None
        stats = collect(tenant)
        if options["json"]:
            self.stdout.write(json.dumps(stats, indent=2, ensure_ascii=False))
            return
        self.stdout.write(self.render(stats, tenant))

    @staticmethod
    def render(stats: dict[str, Any], tenant: Tenant | None) -> str:
        lines = [f"Vorgang: {tenant.name if tenant else 'all tenants'}", ""]
        lines.append(f"{'Cases':<20}{sum(stats['tickets'].values()):>8}")
        lines += [f"  {name:<18}{n:>8}" for name, n in stats["tickets"].items()]
        lines.append(f"{'Articles':<20}{stats['articles']:>8}")
        lines.append(f"{'Attachments':<20}{stats['attachments']:>8}")
        lines.append(f"{'Users':<20}{sum(stats['users'].values()):>8}")
        lines += [f"  {role:<18}{n:>8}" for role, n in stats["users"].items()]
        inbound = stats["inbound"]
        lines.append(f"{'Inbound messages':<20}{sum(inbound.values()):>8}")
        if inbound:
            lines += [f"  {status:<18}{n:>8}" for status, n in inbound.items()]
        else:
            lines.append("  (no mail journal yet)")
        return "\n".join(lines)
