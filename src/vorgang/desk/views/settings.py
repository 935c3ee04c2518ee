"""The agent's own settings: language, which notifications come how, API tokens.

Each section is its own small form posting to its own URL; errors are shown at the
field, successes as a message after a redirect. A new API token is the exception:
its secret is shown once on the answer to the POST and never stored or shown again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from vorgang.accounts.models import ApiToken, User
from vorgang.notifications import preferences
from vorgang.notifications.models import CHOOSABLE_KINDS, NotificationKind

from .auth import SESSION_LANGUAGE
from .common import current_user, desk_view, error_page

MAX_TOKEN_NAME = 100
MAX_TOKENS = 20  # live tokens per user; more is a sign of tokens being lost, not used
EXPIRY_CHOICES = [
    ("30", gettext_lazy("30 days")),
    ("90", gettext_lazy("90 days")),
    ("365", gettext_lazy("one year")),
    ("", gettext_lazy("never")),
]


def _page(
    request: HttpRequest,
    user: User,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    posted: dict[str, str] | None = None,
    new_token: str = "",
) -> TemplateResponse:
    prefs = preferences.of(user)
    kinds = [
        {
            "value": kind,
            "label": NotificationKind(kind).label,
            "in_app": kind in prefs.in_app,
            "email": kind in prefs.email,
        }
        for kind in CHOOSABLE_KINDS
    ]
    tokens = ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")
    context: dict[str, Any] = {
        "languages": django_settings.LANGUAGES,
        "current_language": user.language,
        "kinds": kinds,
        "tokens": [{"token": t, "usable": _usable(t)} for t in tokens],
        "expiry_choices": EXPIRY_CHOICES,
        "errors": errors or {},
        "posted": posted if posted is not None else {"expires": "90"},
        "new_token": new_token,
        "nav": "settings",
    }
    return TemplateResponse(request, "desk/settings.html", context, status=status)


def _usable(token: ApiToken) -> bool:
    return token.revoked_at is None and (
        token.expires_at is None or token.expires_at > timezone.now()
    )


def _done(request: HttpRequest, message: str, anchor: str) -> HttpResponse:
    messages.success(request, message)
    return HttpResponseRedirect(reverse("desk:settings") + anchor)


@desk_view
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    return _page(request, current_user(request))


@desk_view
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    language = request.POST.get("language", "")
    if language not in {code for code, _name in django_settings.LANGUAGES}:
        return _page(request, user, status=422, errors={"language": _("Please choose a language.")})
    user.language = language
    user.save(update_fields=["language"])
    request.session[SESSION_LANGUAGE] = language
    with translation.override(language):
        return _done(request, _("Your language is saved."), "#language")


@desk_view
@require_POST
def set_notifications(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    known = set(NotificationKind.values)
    in_app = request.POST.getlist("in_app")
    email = request.POST.getlist("email")
    if any(k not in known for k in [*in_app, *email]):
        return _page(
            request,
            user,
            status=422,
            errors={"notifications": _("Unknown kind of notification.")},
        )
    preferences.save(user, in_app, email)
    return _done(request, _("Your notification settings are saved."), "#notifications")


@desk_view
@require_POST
def create_token(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    name = request.POST.get("name", "").strip()
    expiry = request.POST.get("expires", "")
    posted = {"name": name, "expires": expiry}
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = _("Please give the token a name, e.g. the program that uses it.")
    elif len(name) > MAX_TOKEN_NAME:
        errors["name"] = _("The name may have at most %(n)d characters.") % {"n": MAX_TOKEN_NAME}
    if expiry not in {value for value, _label in EXPIRY_CHOICES}:
        errors["expires"] = _("Please choose how long the token is valid.")
    live = sum(1 for t in ApiToken.objects.filter(user=user, revoked_at__isnull=True) if _usable(t))
    if live >= MAX_TOKENS:
        errors["name"] = _(
            "You have %(n)d valid tokens already. Please revoke tokens you no longer use."
        ) % {"n": live}
    if errors:
        return _page(request, user, status=422, errors=errors, posted=posted)
    expires_at = timezone.now() + timedelta(days=int(expiry)) if expiry else None
    secret = ApiToken.issue(user, name=name, expires_at=expires_at)
    messages.success(request, _("The token was created. Copy it now: it is shown only once."))
    response = _page(request, user, status=201, new_token=secret)
    response["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


@desk_view
@require_POST
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    changed = ApiToken.objects.filter(pk=pk, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not changed and not ApiToken.objects.filter(pk=pk, user=user).exists():
        return error_page(request, 404)
    return _done(request, _("The token was revoked; programs using it are refused now."), "#tokens")
