"""Routes of the outbox (namespace "messaging"), mounted at the site root by retention_crm.urls:
the public unsubscribe pages (/m/u/...), the local outbox for administrators, the SMS webhook."""

from django.urls import path

from . import links, outbox_views, unsubscribe, webhooks

app_name = "messaging"

urlpatterns = [
    path("m/u/<str:token>/", unsubscribe.unsubscribe_view, name="unsubscribe"),
    path("m/u/<str:token>/preferences/", unsubscribe.preferences_view, name="preferences"),
    path("r/<str:token>/", links.link_redirect, name="link"),
    path("m/sms/inbound/", webhooks.sms_inbound_view, name="sms_inbound"),
    path("messaging/outbox/", outbox_views.local_outbox_page, name="local_outbox"),
    path("messaging/outbox/<id:pk>/body/", outbox_views.local_outbox_body, name="local_outbox_body"),
]
