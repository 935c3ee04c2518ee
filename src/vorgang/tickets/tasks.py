"""Background tasks of the tickets app; each takes ids and is safe to run twice."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django_tasks import task

from vorgang.core import clock, task_priority

if TYPE_CHECKING:
    from .models import Article

log = logging.getLogger(__name__)


@task(priority=task_priority.URGENT)  # an agent's reply: not behind a flood of mail
def deliver_article(article_id: int) -> str:
    """Send a queued e-mail article and record the outcome.

    Returns ``sent``, ``failed`` (the reason is on the article), ``retry`` (the
    server failed for a passing reason: the article stays queued with the error and
    the task is enqueued again after the next backoff delay) or ``skipped`` (not
    queued: already sent by an earlier run, failed, or gone).
    """
    return deliver_articles([article_id])[article_id]


def deliver_articles(article_ids: Sequence[int]) -> dict[int, str]:
    """``deliver_article`` for several articles at once (the confirmations of a drain
    batch): {article id: outcome}, the outcomes as there.

    The articles are loaded together, their mails go out over one connection to the
    mail server, and the outcomes are recorded in one transaction
    (``services.record_deliveries``). Each mail still succeeds or fails on its own: a
    refused recipient fails only its article, and a server that is down (or goes away)
    leaves each unsent article queued with its own retry, as one by one.

    Raises only when the database fails (e.g. while recording); the caller then has
    each article sent again by a task of its own.
    """
    from vorgang.channels.email import outbound

    from . import services
    from .models import DeliveryStatus

    articles = _load(article_ids)
    outcome: dict[int, str] = dict.fromkeys(article_ids, "skipped")  # in the caller's order
    records: list[services.Delivery] = []
    sending: list[tuple[Article, EmailMessage]] = []
    for article_id in outcome:
        article = articles.get(article_id)
        if article is None or article.delivery_status != DeliveryStatus.QUEUED:
            continue
        try:
            mail = outbound.build_message(article)
        except Exception as exc:  # e.g. a stored attachment is missing: a retry cannot help
            log.warning("article %s could not be built: %s", article_id, type(exc).__name__)
            records.append(services.Delivery(article_id, False, f"{type(exc).__name__}: {exc}"))
            outcome[article_id] = "failed"
            continue
        if not mail.recipients():
            records.append(services.Delivery(article_id, False, "no recipient address"))
            outcome[article_id] = "failed"
            continue
        sending.append((article, mail))
    retries: list[tuple[Article, str]] = []
    errors = _send_all([mail for _article, mail in sending])
    for (article, mail), error in zip(sending, errors, strict=True):
        if error is None:
            message_id = mail.extra_headers["Message-ID"]
            records.append(services.Delivery(article.pk, True, message_id=message_id))
            outcome[article.pk] = "sent"
            continue
        failure = outbound.classify_failure(error)
        log.warning(
            "delivery of article %s failed: %s %s (%s)",
            article.pk,
            type(error).__name__,
            failure.code or "-",
            "permanent" if failure.permanent else "temporary",
        )
        if failure.permanent:
            records.append(services.Delivery(article.pk, False, failure.reason))
            outcome[article.pk] = "failed"
        else:
            retries.append((article, failure.reason))
    if records:
        services.record_deliveries(records)
    for article, reason in retries:  # rare (the server failed): one by one, as always
        outcome[article.pk] = _retry_later(article, reason)
    return outcome


def _load(article_ids: Sequence[int]) -> dict[int, Article]:
    """The articles with what ``outbound.build_message`` reads (the case, its department,
    the attachments and their files): two queries for any number of articles, three
    when some have attachments."""
    from .models import Article

    found = (
        Article.objects.select_related("ticket__department")
        .prefetch_related("attachments__blob")
        .filter(pk__in=list(article_ids))
    )
    return {article.pk: article for article in found}


def _send_all(mails: Sequence[EmailMessage]) -> list[BaseException | None]:
    """Send each mail over one connection; per mail ``None`` or the error it failed with.

    A mail the server refuses (a recipient, or the message at DATA) leaves the
    connection usable for the next. After any other error (the connection dropped, a
    421) the next mail opens a new connection; when opening fails, the server is down
    and the remaining mails fail with that error without trying again.
    """
    from vorgang.channels.email import outbound

    errors: list[BaseException | None] = []
    if not mails:
        return errors
    connection = get_connection(fail_silently=False, timeout=outbound.smtp_timeout())
    down: BaseException | None = None
    try:
        for mail in mails:
            if down is not None:
                errors.append(down)
                continue
            try:
                connection.open()  # nothing to do while the connection is open
            except Exception as exc:
                down = exc
                errors.append(exc)
                continue
            mail.connection = connection
            try:
                connection.send_messages([mail])
            except Exception as exc:
                errors.append(exc)
                if not _session_survives(exc):
                    _close(connection)
                continue
            errors.append(None)
    finally:
        _close(connection)
    return errors


def _session_survives(exc: BaseException) -> bool:
    """Whether the SMTP session can go on after ``exc``: the server answered and reset the
    transaction (smtplib sends RSET after a refusal), unless it said it is closing (421)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code != 421 for code, _msg in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421


def _close(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception as exc:  # the mails are out (or failed) already; quitting is a courtesy
        log.info("closing the mail connection failed: %s", type(exc).__name__)


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
