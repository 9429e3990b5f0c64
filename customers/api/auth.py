"""POST a username and password, get the token to send as ``Authorization: Token <key>``."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.settings import api_settings


class TokenObtainApi(ObtainAuthToken):
    # DRF's view turns throttling off; guessing passwords should meet the global anonymous rate.
    throttle_classes = api_settings.DEFAULT_THROTTLE_CLASSES

    @extend_schema(
        summary=_("Get an API token"),
        tags=["auth"],
        auth=[],
        request=AuthTokenSerializer,
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
