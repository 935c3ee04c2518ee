"""Who wrote: a known citizen of the tenant by address (case-insensitive), else a new one.

Never a citizen record for: one of our own department addresses (marked as
mail not to answer), an agent's or admin's address of the same tenant (flagged
for the agent instead, so staff do not turn into citizens), a bounce (the
sender is a mail server). Citizens are looked up in the recipient department's
tenant only, so a citizen of another tenant with the same address is never
reused.
"""

from __future__ import annotations

from email.utils import parseaddr

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from vorgang.accounts.models import Role, User
from vorgang.accounts.services import find_or_create_citizen
from vorgang.channels import addressing
from vorgang.core import batchcache
from vorgang.core.errors import InvalidInput

from .base import IntakeContext


def apply(ctx: IntakeContext) -> None:
    if ctx.department is None or ctx.ignore_reason or ctx.bounce is not None:
        return
    address = addressing.normalise(ctx.parsed.from_email or "")
    if not address or "@" not in address:
        ctx.notes.append(_("The sender address is missing or unreadable."))
        return
    if addressing.resolve(address) is not None:
        # Mail from one of our own addresses: never a citizen, and never answered.
        ctx.suppress_auto_response = True
        ctx.notes.append(_("This message was sent from one of our own addresses."))
        return
    tenant = ctx.department.tenant
    staff = _staff_member(tenant.pk, address)
    if staff is not None:
        ctx.staff_sender = staff
        ctx.notes.append(
            _(
                "The sender address belongs to a staff member (%(name)s), not to a citizen; "
                "no citizen record was created."
            )
            % {"name": staff.display_name}
        )
        return
    name = " ".join((ctx.parsed.from_display_name or parseaddr(ctx.parsed.from_)[0]).split())
    first, _sp, last = name.rpartition(" ") if " " in name else ("", "", name)
    try:
        ctx.citizen = find_or_create_citizen(
            tenant, address, first_name=first or name, last_name=last if first else ""
        )
    except InvalidInput:
        ctx.notes.append(_("The sender address is not a valid e-mail address."))


def _staff_member(tenant_id: int, address: str) -> User | None:
    """The active agent or admin of the tenant with this address, if any.

    In a batch of the mail worker, the tenant's staff addresses are read once, so
    the usual answer (a citizen wrote, not staff) costs no query per message.
    """

    def staff() -> QuerySet[User]:
        return User.objects.filter(tenant_id=tenant_id, is_active=True).exclude(role=Role.CITIZEN)

    if batchcache.active():
        addresses = batchcache.memo(
            ("staff-addresses", tenant_id),
            lambda: {email.lower() for email in staff().values_list("email", flat=True) if email},
        )
        if address.lower() not in addresses:
            return None  # the usual answer, without building a query
    return staff().filter(email__iexact=address).order_by("pk").first()
