from django.urls import path

from vorgang.attributes.desk import edit_attributes

from .views import (
    actions,
    attachments,
    auth,
    case_tools,
    cases,
    compose,
    live,
    notifications,
    outbox,
    overviews,
    reply,
    search,
    settings,
)
from .views.case_links import revoke_case_links
from .views.request_info import request_info

app_name = "desk"

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("language/", auth.set_language, name="language"),
    path("", overviews.overview, name="overview"),
    path("overviews/<slug:slug>/", overviews.overview, name="overviews"),
    path("overviews/<slug:slug>/bulk/", overviews.bulk, name="overview_bulk"),
    path("cases/<int:pk>/", cases.case, name="case"),
    path("cases/<int:pk>/timeline/older/", cases.timeline_older, name="case_timeline_older"),
    path("cases/<int:pk>/history/", cases.case_history, name="case_history"),
    path("cases/<int:pk>/note/", actions.add_note, name="add_note"),
    path("cases/<int:pk>/state/", actions.change_state, name="change_state"),
    path("cases/<int:pk>/owner/", actions.assign, name="assign"),
    path("cases/<int:pk>/priority/", actions.set_priority, name="set_priority"),
    path("cases/<int:pk>/tags/add/", actions.add_tag, name="add_tag"),
    path("cases/<int:pk>/tags/remove/", actions.remove_tag, name="remove_tag"),
    path("cases/<int:pk>/reply/", reply.reply, name="reply"),
    path("cases/<int:pk>/request-info/", request_info, name="request_info"),
    path("cases/<int:pk>/attributes/", edit_attributes, name="edit_attributes"),
    path("cases/<int:pk>/case-links/revoke/", revoke_case_links, name="revoke_case_links"),
    path("attachments/<int:pk>/", attachments.attachment, name="attachment"),
    # case view tools (desk/views/case_tools.py, compose.py)
    path("attachments/<int:pk>/preview/", case_tools.attachment_preview, name="preview"),
    path("cases/<int:pk>/macro/", case_tools.apply_macro, name="apply_macro"),
    path("cases/<int:pk>/department/", case_tools.move, name="move"),
    path("cases/<int:pk>/merge/", case_tools.merge, name="merge"),
    path("cases/<int:pk>/links/add/", case_tools.add_link, name="add_link"),
    path("cases/<int:pk>/links/remove/", case_tools.remove_link, name="remove_link"),
    path("cases/<int:pk>/articles/<int:article_pk>/split/", case_tools.split, name="split"),
    path("cases/<int:pk>/articles/<int:article_pk>/forward/", compose.forward, name="forward"),
    path("outbox/", outbox.outbox, name="outbox"),
    path("outbox/<str:name>/<int:index>/", outbox.outbox_message, name="outbox_message"),
    # live desk, notifications, settings, search (desk/views/live.py, notifications.py, ...)
    path("cases/<int:pk>/presence/", live.heartbeat, name="presence"),
    path("cases/<int:pk>/presence/leave/", live.leave, name="presence_leave"),
    path("cases/<int:pk>/changes/", live.changes, name="case_changes"),
    path("cases/<int:pk>/draft/<slug:kind>/", live.save_draft, name="save_draft"),
    path("live/nav/", live.nav_counts, name="live_nav"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/bell/", notifications.bell, name="notification_bell"),
    path("notifications/read/", notifications.mark_all_read, name="notifications_read"),
    path("notifications/<int:pk>/read/", notifications.mark_read, name="notification_read"),
    path("settings/", settings.settings_page, name="settings"),
    path("settings/language/", settings.set_language, name="settings_language"),
    path("settings/notifications/", settings.set_notifications, name="settings_notifications"),
    path("settings/tokens/", settings.create_token, name="settings_token_create"),
    path("settings/tokens/<int:pk>/revoke/", settings.revoke_token, name="settings_token_revoke"),
    path("search/", search.search, name="search"),
]
