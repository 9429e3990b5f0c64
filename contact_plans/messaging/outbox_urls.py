"""Routes of the outbox (namespace "messaging"), mounted at the site root by retention_crm.urls:
the public unsubscribe pages (/m/u/...), the local outbox for administrators, the SMS webhook."""

from django.urls import path

from . import unsubscribe

app_name = "messaging"

urlpatterns = [
    path("m/u/<str:token>/", unsubscribe.unsubscribe_view, name="unsubscribe"),
    path("m/u/<str:token>/preferences/", unsubscribe.preferences_view, name="preferences"),
]
