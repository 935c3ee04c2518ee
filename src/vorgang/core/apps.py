from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "vorgang.core"
    label = "core"
