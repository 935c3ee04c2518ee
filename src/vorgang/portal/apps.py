from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "vorgang.portal"
    label = "portal"
    verbose_name = _("Citizen case page")

    def ready(self) -> None:
        from . import subscribers  # noqa: F401  (registers the event subscriber)
        from .logfilter import install

        install()
