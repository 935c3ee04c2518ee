from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PresenceConfig(AppConfig):
    name = "vorgang.presence"
    label = "presence"
    verbose_name = _("Presence and drafts")

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (drafts go when their text was sent)
