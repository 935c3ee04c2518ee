"""Helpers the desk views share: who may use the desk, and how errors become pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from vorgang.accounts.models import User
from vorgang.core.errors import NotFound, PermissionDenied, ServiceError

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponseBase]


def current_user(request: HttpRequest) -> User:
    """The signed-in user as our User model (views behind ``desk_view`` only)."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("desk views need a signed-in user")
    return user


def error_page(
    request: HttpRequest | None,
    status: int,
    *,
    title: str | None = None,
    message: str | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """A templated error page in the user's language; never fails itself."""
    from . import errors  # late import: errors imports this module too

    return errors.render_error(request, status, title=title, message=message, extra=extra)


def service_error_page(request: HttpRequest, err: ServiceError) -> HttpResponse:
    """The error page for a ServiceError that a view did not handle itself."""
    if isinstance(err, NotFound):
        return error_page(request, 404)
    if isinstance(err, PermissionDenied):
        return error_page(
            request, 403, message=_("You may see this case, but you may not change it.")
        )
    return error_page(request, err.status if 400 <= err.status < 500 else 400)


def desk_view(view: View[P]) -> View[P]:
    """Sign-in required, agents and admins only, and ServiceErrors shown as error pages.

    Citizens who sign in here get a clear 403 page: their place is the case page
    (the citizen portal), not the agents' desk. Integration accounts (systems that
    submit through the API) get a plain 403.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not isinstance(user, User) or user.is_citizen:
            return TemplateResponse(request, "desk/citizen_forbidden.html", status=403)
        if not user.is_agent:
            return error_page(request, 403)
        try:
            return view(request, *args, **kwargs)
        except ServiceError as err:
            return service_error_page(request, err)

    return wrapper
