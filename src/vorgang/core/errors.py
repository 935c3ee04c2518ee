"""Errors raised by services and selectors.

Each carries a message meant for the person who caused it; the web and API layers
map them to status codes (see ``status``) instead of letting them become a 500.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out; nothing was written."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """The object does not exist, or the caller may not know that it does."""

    status = 404


class PermissionDenied(ServiceError):
    """The caller may see the object but not do this to it."""

    status = 403


class InvalidTransition(ServiceError):
    """The workflow does not allow this change of state."""

    status = 422


class InvalidInput(ServiceError):
    """A value is missing, malformed or refers to something unusable."""

    status = 422
