from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "vorgang.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from vorgang.core import scheduler

        from . import subscribers  # noqa: F401  (registers the event subscriber)

        # Deliveries whose task was lost (a worker died, a backend that cannot defer)
        # are queued again; delivering is safe to run twice.
        job = ("webhook-recovery", "vorgang.webhooks.dispatch.recover_stale", 60)
        if job not in scheduler.JOBS:
            scheduler.JOBS.append(job)
