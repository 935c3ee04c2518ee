from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "vorgang.search"
    label = "search"
    verbose_name = _("Search")

    def ready(self) -> None:
        # Subscribers register themselves with the event bus (and model signals) on import.
        from . import subscribers  # noqa: F401
