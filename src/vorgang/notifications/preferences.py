"""Which notifications an agent wants, in the desk and by e-mail (the settings page edits them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vorgang.accounts.models import User

from .models import CHOOSABLE_KINDS, NotificationKind, NotificationPreference


@dataclass(frozen=True)
class Channels:
    in_app: bool
    email: bool


def of(user: User) -> NotificationPreference:
    """The user's preferences; an unsaved row with the defaults if they never chose."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found if found is not None else NotificationPreference(user=user)


def channels(user: User, kind: str) -> Channels:
    prefs = of(user)
    return Channels(in_app=kind in prefs.in_app, email=kind in prefs.email)


def save(user: User, in_app: Iterable[str], email: Iterable[str]) -> NotificationPreference:
    """Store the user's choice for the choosable kinds; other kinds stay switched on."""
    fixed = [k for k in NotificationKind.values if k not in CHOOSABLE_KINDS]
    wanted_in_app = sorted({k for k in in_app if k in CHOOSABLE_KINDS} | set(fixed))
    wanted_email = sorted({k for k in email if k in CHOOSABLE_KINDS} | set(fixed))
    prefs, _created = NotificationPreference.objects.update_or_create(
        user=user, defaults={"in_app": wanted_in_app, "email": wanted_email}
    )
    return prefs
