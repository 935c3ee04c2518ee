from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "vorgang.tickets"
    label = "tickets"
    verbose_name = _("Cases")

    def ready(self) -> None:
        # Subscribers register themselves with the event bus on import.
        from . import subscribers  # noqa: F401
