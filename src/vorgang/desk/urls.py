from django.urls import path

from .views import actions, attachments, auth, cases, outbox, reply
from .views.request_info import request_info

app_name = "desk"

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("language/", auth.set_language, name="language"),
    path("", cases.overview, name="overview"),
    path("cases/<int:pk>/", cases.case, name="case"),
    path("cases/<int:pk>/note/", actions.add_note, name="add_note"),
    path("cases/<int:pk>/state/", actions.change_state, name="change_state"),
    path("cases/<int:pk>/owner/", actions.assign, name="assign"),
    path("cases/<int:pk>/priority/", actions.set_priority, name="set_priority"),
    path("cases/<int:pk>/tags/add/", actions.add_tag, name="add_tag"),
    path("cases/<int:pk>/tags/remove/", actions.remove_tag, name="remove_tag"),
    path("cases/<int:pk>/reply/", reply.reply, name="reply"),
    path("cases/<int:pk>/request-info/", request_info, name="request_info"),
    path("attachments/<int:pk>/", attachments.attachment, name="attachment"),
    path("outbox/", outbox.outbox, name="outbox"),
    path("outbox/<str:name>/<int:index>/", outbox.outbox_message, name="outbox_message"),
]
