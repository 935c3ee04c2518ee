"""The desk's live, notification, settings and search views are for agents and admins only.

``desk_view`` already sends citizens away; integration accounts (systems that submit
forms through the API) have no business in the desk either and get the same 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponseBase

from .common import current_user, desk_view, error_page

P = ParamSpec("P")


def agent_view(
    view: Callable[Concatenate[HttpRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not current_user(request).is_agent:
            return error_page(request, 403)
        return view(request, *args, **kwargs)

    return desk_view(wrapper)
