from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "vorgang.channels"
    label = "channels"
    verbose_name = _("Incoming messages")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from vorgang.tickets.models import Article

        from .automatic import on_article_saved

        # Every automatic mail is recorded for the loop guard's rate limits, whoever
        # writes it (see channels.automatic).
        post_save.connect(
            on_article_saved, sender=Article, dispatch_uid="vorgang.channels.automatic_mail"
        )
