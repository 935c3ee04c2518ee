from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("c/new/", views.new_link, name="new_link"),
    path("c/language/", views.language, name="language"),
    path("c/legal/<slug:kind>/", views.legal, name="legal"),
    path("c/logo/<slug:slug>/", views.logo, name="logo"),
    path("c/<str:token>/", views.case, name="case"),
    path("c/<str:token>/files/<int:pk>/", views.attachment, name="attachment"),
]
