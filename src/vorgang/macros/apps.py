from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MacrosConfig(AppConfig):
    name = "vorgang.macros"
    label = "macros"
    verbose_name = _("Text modules and macros")
