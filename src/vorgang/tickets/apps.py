from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "vorgang.tickets"
    label = "tickets"
    verbose_name = _("Cases")

    def ready(self) -> None:
        # Subscribers register themselves with the event bus on import.
        from . import subscribers  # noqa: F401
        from .defaults import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, sender=self)
