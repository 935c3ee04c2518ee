from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "vorgang.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from vorgang.core import scheduler

        from . import subscribers  # noqa: F401  (registers the event subscribers)

        job = ("reminders", "vorgang.notifications.reminders.notify_due", 60)
        if job not in scheduler.JOBS:
            scheduler.JOBS.append(job)
