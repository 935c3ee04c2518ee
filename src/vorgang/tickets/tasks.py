"""Background tasks of the tickets app; each takes ids and is safe to run twice."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from django.core.mail import get_connection
from django.db import transaction
from django_tasks import task

from vorgang.core import clock

if TYPE_CHECKING:
    from .models import Article

log = logging.getLogger(__name__)


@task()
def deliver_article(article_id: int) -> str:
    """Send a queued e-mail article and record the outcome.

    Returns ``sent``, ``failed`` (the reason is on the article), ``retry`` (the
    server failed for a passing reason: the article stays queued with the error and
    the task is enqueued again after the next backoff delay) or ``skipped`` (not
    queued: already sent by an earlier run, failed, or gone).
    """
    from vorgang.channels.email import outbound

    from . import services
    from .models import Article, DeliveryStatus

    article = (
        Article.objects.select_related("ticket__department")
        .prefetch_related("attachments__blob")
        .filter(pk=article_id)
        .first()
    )
    if article is None or article.delivery_status != DeliveryStatus.QUEUED:
        return "skipped"
    try:
        mail = outbound.build_message(article)
    except Exception as exc:  # e.g. a stored attachment is missing: a retry cannot help
        log.warning("article %s could not be built: %s", article_id, type(exc).__name__)
        services.record_delivery(article_id, sent=False, error=f"{type(exc).__name__}: {exc}")
        return "failed"
    if not mail.recipients():
        services.record_delivery(article_id, sent=False, error="no recipient address")
        return "failed"
    try:
        connection = get_connection(fail_silently=False, timeout=outbound.smtp_timeout())
        mail.connection = connection
        mail.send(fail_silently=False)
    except Exception as exc:
        failure = outbound.classify_failure(exc)
        log.warning(
            "delivery of article %s failed: %s %s (%s)",
            article_id,
            type(exc).__name__,
            failure.code or "-",
            "permanent" if failure.permanent else "temporary",
        )
        if failure.permanent:
            services.record_delivery(article_id, sent=False, error=failure.reason)
            return "failed"
        return _retry_later(article, failure.reason)
    services.record_delivery(article_id, sent=True, message_id=mail.extra_headers["Message-ID"])
    return "sent"


def _retry_later(article: Article, reason: str) -> str:
    """Keep the article queued with the error and enqueue the next try, or give up."""
    from vorgang.channels.email import outbound

    from . import services

    delays = outbound.retry_delays()
    attempt = outbound.failed_attempts(article) + 1  # this one
    if attempt > len(delays):
        services.record_delivery(
            article.pk,
            sent=False,
            error=f"{reason} (gave up after {attempt} attempts)",
        )
        return "failed"
    services.queue_delivery(article.pk, error=reason)
    backend = deliver_article.get_backend()
    if not backend.supports_defer:
        # e.g. the immediate backend of some tests: it cannot wait, so nothing is enqueued;
        # the article stays queued with its error until the task runs again.
        log.warning("article %s: the task backend cannot schedule a retry", article.pk)
        return "retry"
    run_after = clock.now() + timedelta(seconds=delays[attempt - 1])
    article_id = article.pk
    transaction.on_commit(lambda: deliver_article.using(run_after=run_after).enqueue(article_id))
    return "retry"
