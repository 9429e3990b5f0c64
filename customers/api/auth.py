"""POST a username and password, get the token to send as ``Authorization: Token <key>``."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.settings import api_settings

from retention_crm.login_guard import login_success_record


class LockedOut(exceptions.Throttled):
    default_code = "locked_out"


class TokenObtainSerializer(AuthTokenSerializer):
    # Same lockout as the login page (retention_crm/login_guard.py): a locked-out attempt answers
    # 429 with Retry-After and a message saying until when, not "wrong password".

    def validate(self, attrs):
        request = self.context.get("request")
        try:
            attrs = super().validate(attrs)
        except serializers.ValidationError:
            lockout = getattr(request, "login_lockout", None)
            if lockout is not None:
                raise LockedOut(wait=lockout.seconds_left, detail=lockout.message()) from None
            raise
        login_success_record(attrs["user"].get_username())
        return attrs


class TokenObtainApi(ObtainAuthToken):
    serializer_class = TokenObtainSerializer
    # DRF's view turns throttling off; guessing passwords should meet the global anonymous rate.
    throttle_classes = api_settings.DEFAULT_THROTTLE_CLASSES

    @extend_schema(
        summary=_("Get an API token"),
        description=_(
            "After repeated wrong passwords for one account or from one address, answers 429 "
            "with Retry-After until the lockout ends."
        ),
        tags=["auth"],
        auth=[],
        request=AuthTokenSerializer,
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
