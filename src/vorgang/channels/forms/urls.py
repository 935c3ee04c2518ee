from django.urls import path

from . import views

app_name = "forms"

urlpatterns = [
    path("<slug:slug>/", views.service_form, name="form"),
    path("<slug:slug>/done/<str:token>/", views.done, name="done"),
]
