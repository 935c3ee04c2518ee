"""Which department the message is for: the envelope recipient, else To/Cc/Delivered-To."""

from __future__ import annotations

from vorgang.channels import addressing

from .base import IntakeContext


def apply(ctx: IntakeContext) -> None:
    candidates = [ctx.inbound.recipient] if ctx.inbound.recipient else []
    candidates += ctx.parsed.to_addresses + ctx.parsed.cc_addresses
    candidates += addressing.parse_list(ctx.header("Delivered-To"))
    found = addressing.first_known([c for c in candidates if c])
    if found is not None:
        ctx.department = found.department
        ctx.reply_token = found.token
    elif ctx.inbound.department_id:
        ctx.department = ctx.inbound.department
