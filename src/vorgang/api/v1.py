"""REST API v1, mounted at /api/v1 (Zammad-compatible paths and shapes).

Endpoints stay thin: they call tickets.services and the selectors, as the UI does.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from vorgang.accounts import access
from vorgang.accounts.models import User
from vorgang.core.errors import ServiceError

from .auth import TokenAuth
from .schemas import UserOut

api = NinjaAPI(
    title="Vorgang API",
    version="1",
    description="Case API for citizen services; paths and shapes follow Zammad's REST API.",
    auth=TokenAuth(),
    urls_namespace="api-v1",
    docs_url=None,
)


def _error(request: HttpRequest, status: int, error: str, human: str) -> HttpResponse:
    return api.create_response(request, {"error": error, "error_human": human}, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "authentication failed", "Missing or invalid API token.")


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, exc.message, exc.message)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg', '')}" for e in exc.errors
    )
    return _error(request, 422, "invalid request", details or "The request is not valid.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc), str(exc))


def _ts(value: datetime | None) -> str | None:
    """UTC with milliseconds and Z, as Zammad writes timestamps."""
    if value is None:
        return None
    from datetime import UTC

    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def user_out(user: User) -> dict[str, object]:
    levels = access.levels_by_department(user)
    return {
        "id": user.pk,
        "login": user.username,
        "firstname": user.first_name,
        "lastname": user.last_name,
        "email": user.email,
        "phone": user.phone,
        "active": user.is_active,
        "role": user.role,
        "organization_id": user.organisation_id,
        "group_ids": {str(dep): sorted(held) for dep, held in sorted(levels.items())},
        "created_at": _ts(user.date_joined),
        "updated_at": _ts(user.date_joined),
    }


api.add_router("/services", "vorgang.api.services.router")


@api.get("/users/me", response=UserOut, tags=["users"], summary="The authenticated user")
def users_me(request: HttpRequest) -> dict[str, object]:
    user = request.auth  # type: ignore[attr-defined]
    return user_out(user)
