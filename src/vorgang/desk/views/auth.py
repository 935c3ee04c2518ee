"""Signing in and out, and choosing the language."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from vorgang.accounts import login_guard
from vorgang.accounts.models import User

SESSION_LANGUAGE = "language"  # read by vorgang.core.middleware.UserLanguageMiddleware


class GuardedAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, with the brake on password guessing (``login_guard``)."""

    def clean(self) -> dict[str, object]:
        login = str(self.cleaned_data.get("username") or "")
        if self.request is not None and login_guard.locked(login, self.request):
            minutes = login_guard.minutes()
            raise ValidationError(
                ngettext(
                    "Too many failed sign-ins. Please wait %(minutes)d minute and try again.",
                    "Too many failed sign-ins. Please wait %(minutes)d minutes and try again.",
                    minutes,
                )
                % {"minutes": minutes},
                code="locked",
            )
        try:
            return super().clean()
        except ValidationError:
            if self.request is not None and login:
                login_guard.failed(login, self.request)
            raise


class LoginView(auth_views.LoginView):
    template_name = "desk/login.html"
    authentication_form = GuardedAuthenticationForm

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        if isinstance(user, User):
            self.request.session[SESSION_LANGUAGE] = user.language
        return response


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url("desk:overview")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI language; a signed-in user keeps the choice for the next visit."""
    language = request.POST.get("language", "")
    supported = {code for code, _name in settings.LANGUAGES}
    if language in supported:
        request.session[SESSION_LANGUAGE] = language
        user = request.user
        if isinstance(user, User) and user.is_authenticated and user.language != language:
            user.language = language
            user.save(update_fields=["language"])
    return HttpResponseRedirect(_safe_next(request))
