"""What the intake filters share: one typed context per message.

Each filter reads the parsed message and what earlier filters decided, and
records its own decision here; none of them writes to the database except
``sender`` (citizen records). The final step (``intake.deliver``) turns the
context into a case or an article through tickets.services, and afterwards
fills in ``delivered_ticket`` / ``new_case`` for whoever acts on the result
(the confirmation mail reads those together with ``loop_guard.may_auto_respond``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vorgang.accounts.models import Department, Tenant, User
from vorgang.channels.email.parsing import BounceInfo, ParsedMessage
from vorgang.channels.models import InboundMessage
from vorgang.tickets.models import Article, Ticket


@dataclass
class IntakeContext:
    inbound: InboundMessage
    parsed: ParsedMessage
    department: Department | None = None
    reply_token: str = ""
    citizen: User | None = None
    staff_sender: User | None = None  # an agent or admin of the tenant wrote (no citizen made)
    ticket: Ticket | None = None  # the case this message follows up, if any
    follow_up_by: str = ""  # "token", "message_id", "subject" or "bounce"
    new_case_linked_to: Ticket | None = None  # follow-up policy opened a new case
    reopen: bool = True  # a follow-up reopens a pending or closed case
    priority: str | None = None
    tags: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # names of the postmaster rules that matched
    ignore_reason: str = ""  # set: the message is journaled but makes no article
    auto_generated: bool = False  # an automatic mail (auto-reply, bulk, list, bounce)
    auto_reply: bool = False  # out-of-office and similar: add, do not reopen
    suppress_auto_response: bool = False  # never send automatic mail back
    loop_reasons: list[str] = field(default_factory=list)  # why loop_guard marked it
    own_loop: bool = False  # carries our own X-Loop: it is mail we sent, come back
    bounce: BounceInfo | None = None  # a delivery status notification (RFC 3464)
    bounce_permanent: bool = False
    bounced_article: Article | None = None  # our outbound article that the bounce is about
    notes: list[str] = field(default_factory=list)  # shown to the agent on the article
    # SHA-256 of each of parsed.attachments, in order, whose bytes the intake has put in
    # place before its transaction (journal.write_raw); empty: stored with the article.
    placed: list[str] = field(default_factory=list)
    # Set by intake.deliver: where the message ended up.
    delivered_ticket: Ticket | None = None
    new_case: bool = False

    @property
    def tenant(self) -> Tenant | None:
        if self.department is not None:
            return self.department.tenant
        return self.inbound.tenant if self.inbound.tenant_id else None

    def header(self, name: str) -> str:
        """The first value of a header field ("" if absent), case-insensitively."""
        return str(self.parsed.header_map.get(name, ""))

    def headers(self, name: str) -> list[str]:
        """Every value of a header field, in message order."""
        return [str(value) for value in self.parsed.header_map.get_all(name)]
