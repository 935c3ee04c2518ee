from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from vorgang.api.docs_page import api_docs
from vorgang.api.v1 import api as api_v1

admin.site.site_header = "Vorgang"
admin.site.site_title = "Vorgang"

urlpatterns = [
    path("api/v1/", api_v1.urls),
    path("api/docs", api_docs, name="api-docs"),
    path("admin/", admin.site.urls),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("s/", include("vorgang.channels.forms.urls")),
    path("", include("vorgang.portal.urls")),
    path("", include("vorgang.desk.urls")),
]

handler400 = "vorgang.desk.views.errors.bad_request"
handler403 = "vorgang.desk.views.errors.forbidden"
handler404 = "vorgang.desk.views.errors.not_found"
handler500 = "vorgang.desk.views.errors.server_error"
