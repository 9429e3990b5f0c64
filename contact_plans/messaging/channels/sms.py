"""SMS: a backend interface (settings.SMS_BACKEND picks one), a Twilio-style HTTP backend, the
phone-number rule (E.164 via ``phonenumbers``) and the length rule.

Why our own interface rather than django-sms or another package (docs/messaging.md): what the
outbox needs is a connection opened once per batch, one call per message that either returns the
provider's id or raises a temporary or permanent failure, so that the dispatcher can retry or fail
the row. django-sms (and django-sendsms) send fire-and-forget, swallow or flatten the provider's
answer, and their Twilio backends need the provider's SDK; the 60 lines below are easier to own.

Length rule: a text that fits GSM-7 (the GSM 03.38 alphabet; ``^{}[]~|\\€`` count twice) takes
160 characters in one segment, 153 per segment when split; anything else is sent as UCS-2: 70, then
67 per segment. Up to ``settings.SMS_MAX_SEGMENTS`` segments are sent (joined up by the phone);
a longer text is refused with the reason "too long", never cut.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import phonenumbers
import requests
from django.conf import settings
from django.utils.module_loading import import_string

from . import PermanentFailure, TemporaryFailure

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def sms_length(text: str) -> SmsLength:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    return SmsLength(encoding, units, segments)


def sms_fits(text: str) -> bool:
    return sms_length(text).segments <= settings.SMS_MAX_SEGMENTS


@functools.cache
def _country_codes() -> dict[str, str]:
    """English country names to ISO codes ("United Kingdom" -> "GB"), from Babel's CLDR data."""
    from babel import Locale

    names = {name.casefold(): code for code, name in Locale("en").territories.items() if len(code) == 2}
    names.update({"uk": "GB", "usa": "US", "united states of america": "US"})
    return names


def region_of(country: str) -> str | None:
    country = (country or "").strip()
    if len(country) == 2 and country.isalpha():
        return country.upper()
    return _country_codes().get(country.casefold())


def phone_normalise(phone: str, *, country: str = "") -> str | None:
    """The number in E.164 ("+447700900123"), read with the customer's country as the default
    region; None when it is not a valid number."""
    if not (phone or "").strip():
        return None
    try:
        number = phonenumbers.parse(phone, region_of(country))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class BaseSmsBackend:
    """Open once per batch, ``send`` each message, close. ``send`` returns the provider's id or
    raises TemporaryFailure / PermanentFailure."""

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, *, to: str, text: str, reference: str) -> str:
        raise NotImplementedError


class HttpSmsBackend(BaseSmsBackend):
    """A Twilio-style REST API: a form POST of To, From and Body with basic auth, answering JSON
    with the message's ``sid``. 429 and 5xx are temporary, other 4xx permanent."""

    def open(self) -> None:
        self.session = requests.Session()  # one keep-alive connection for the batch
        self.session.auth = (settings.SMS_ACCOUNT, settings.SMS_TOKEN)

    def close(self) -> None:
        self.session.close()

    def send(self, *, to: str, text: str, reference: str) -> str:
        try:
            response = self.session.post(
                settings.SMS_HTTP_URL,
                data={"To": to, "From": settings.SMS_FROM, "Body": text},
                timeout=settings.SMS_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise TemporaryFailure(f"SMS provider unreachable: {exc.__class__.__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryFailure(f"SMS provider answered {response.status_code}: {response.text[:200]}")
        if response.status_code >= 400:
            raise PermanentFailure(f"SMS provider refused ({response.status_code}): {response.text[:200]}")
        try:
            return str(response.json().get("sid", ""))[:200]
        except ValueError:
            return ""


def sms_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()
