"""Background tasks of the tickets app; each takes ids and is safe to run twice."""

from __future__ import annotations

import logging
from email.utils import make_msgid

from django.core.mail import EmailMessage
from django_tasks import task

log = logging.getLogger(__name__)


@task()
def deliver_article(article_id: int) -> str:
    """Send a queued e-mail article to its recipients and record the outcome."""
    from . import services
    from .models import Article, DeliveryStatus

    article = (
        Article.objects.select_related("ticket__department")
        .prefetch_related("attachments__blob")
        .filter(pk=article_id)
        .first()
    )
    if article is None or article.delivery_status != DeliveryStatus.QUEUED:
        return "skipped"  # already sent by an earlier run, or gone
    department = article.ticket.department
    domain = department.email_address.rpartition("@")[2] or "localhost"
    message_id = article.message_id or make_msgid(domain=domain)
    headers = {"Message-ID": message_id}
    if article.in_reply_to:
        headers["In-Reply-To"] = article.in_reply_to
    if article.references:
        headers["References"] = article.references
    mail = EmailMessage(
        subject=article.subject or f"[Vorgang#{article.ticket.number}] {article.ticket.title}",
        body=article.body,
        from_email=article.from_addr or department.email_address,
        to=[a.strip() for a in article.to.split(",") if a.strip()],
        cc=[a.strip() for a in article.cc.split(",") if a.strip()],
        headers=headers,
    )
    if article.content_type == "text/html":
        mail.content_subtype = "html"
    for attachment in article.attachments.all():
        mail.attach(attachment.filename, attachment.blob.read(), attachment.content_type)
    if not mail.recipients():
        services.record_delivery(article_id, sent=False, error="no recipient address")
        return "failed"
    try:
        mail.send(fail_silently=False)
    except Exception as exc:  # the relay's reason is kept on the article for the agent
        log.warning("delivery of article %s failed: %s", article_id, type(exc).__name__)
        services.record_delivery(article_id, sent=False, error=str(exc) or type(exc).__name__)
        return "failed"
    services.record_delivery(article_id, sent=True, message_id=message_id)
    return "sent"
