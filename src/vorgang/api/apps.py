from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "vorgang.api"
    label = "api"
    verbose_name = "REST API"
