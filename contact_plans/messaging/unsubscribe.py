"""Unsubscribe links (RFC 8058 one-click) and the preference centre.

A link carries an opaque token: the customer's id and the channel, signed with django.core.signing
under a salt of its own (a token made for anything else does not verify here) and timestamped
(valid ``MESSAGING_TOKEN_MAX_AGE_DAYS``). No name, address or other personal data is inside.

- ``POST /m/u/<token>/`` (the one-click POST mail clients send, ``List-Unsubscribe=One-Click``)
  unsubscribes the channel: no login, no cookie, CSRF-exempt (this view only), idempotent;
- ``GET /m/u/<token>/`` shows the confirmation and the preference centre, in the customer's
  language; its form posts to ``/m/u/<token>/preferences/`` (CSRF-protected as every form).
"""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from contact_plans.models import Channel, ContactPreference
from customers.models import Customer
from retention_crm import events

from . import tokens

logger = logging.getLogger(__name__)

SALT = "contact_plans.messaging.unsubscribe"


class InvalidToken(Exception):
    """Tampered, expired, or signed for something else."""


def token_make(customer: Customer | int, *, channel: str = Channel.EMAIL) -> str:
    customer_id = getattr(customer, "pk", customer)
    # tokens.dumps is signing.dumps, the same string at a fraction of the cost (one HMAC): a bulk
    # send makes one or two per message.
    return tokens.dumps([customer_id, channel], salt=SALT)


def token_read(token: str) -> tuple[int, str]:
    """(customer id, channel) of a valid token; InvalidToken otherwise."""
    max_age = settings.MESSAGING_TOKEN_MAX_AGE_DAYS * 24 * 3600
    try:
        customer_id, channel = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise InvalidToken("expired") from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken("invalid") from exc
    if not isinstance(customer_id, int) or channel not in Channel.values:
        raise InvalidToken("invalid")
    return customer_id, channel


@functools.lru_cache(maxsize=8)
def _around_token(base: str) -> tuple[str, str]:
    """What comes before and after the token in the link (reversed once per process: a campaign
    writes two links per message)."""
    before, _marker, after = reverse("messaging:unsubscribe", kwargs={"token": "TOKEN"}).rpartition("TOKEN")
    return base + before, after


def unsubscribe_url(customer: Customer | int, *, channel: str = Channel.EMAIL) -> str:
    """The absolute link of List-Unsubscribe and of the footer (https in production)."""
    before, after = _around_token(settings.PUBLIC_BASE_URL)
    return before + token_make(customer, channel=channel) + after


def preferences_url(customer: Customer | int) -> str:
    before, after = _around_token(settings.PUBLIC_BASE_URL)
    return before + token_make(customer) + after + "#preferences"


def email_links(customer_id: int) -> tuple[str, str]:
    """(unsubscribe_url, preferences_url) of an email, sharing one token (a bulk send's two links)."""
    before, after = _around_token(settings.PUBLIC_BASE_URL)
    link = before + token_make(customer_id) + after
    return link, link + "#preferences"


# --- the service: what a customer says yes or no to ---------------------------------------------


def topics() -> list[tuple[str, str]]:
    return list(settings.MESSAGING_TOPICS)


@transaction.atomic
def contact_preferences_update(*, customer: Customer, changes: dict[tuple[str, str], bool]) -> bool:
    """Set (channel, topic) -> subscribed; topic "" is the whole channel. Returns whether anything
    changed; each new "no" publishes customer.unsubscribed. Calling it again changes nothing."""
    known_topics = {"", *(code for code, _label in topics())}
    changed = False
    for (channel, topic), subscribed in changes.items():
        if channel not in Channel.values or topic not in known_topics:
            raise ValueError(f"unknown channel or topic: {channel!r}/{topic!r}")
        current = ContactPreference.objects.filter(customer=customer, channel=channel, topic=topic).first()
        if (current.subscribed if current else True) == subscribed:
            continue
        ContactPreference.objects.update_or_create(
            customer=customer, channel=channel, topic=topic, defaults={"subscribed": subscribed}
        )
        changed = True
        if not subscribed:
            events.publish(events.CUSTOMER_UNSUBSCRIBED, customer_id=customer.pk, channel=channel, topic=topic)
    return changed


def contact_preferences_of(customer: Customer) -> dict[tuple[str, str], bool]:
    """Every (channel, topic) of the preference centre with the customer's answer."""
    answers = {(channel, topic): True for channel in Channel.values for topic in ["", *(c for c, _l in topics())]}
    for pref in ContactPreference.objects.filter(customer=customer):
        answers[(pref.channel, pref.topic)] = pref.subscribed
    return answers


# --- the pages ------------------------------------------------------------------------------------


def _public(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: never send it on to another site, nor keep the page in a cache.
    # "same-origin", not "no-referrer": with no referrer at all, browsers send the preference form's
    # POST with "Origin: null", which Django's CSRF check refuses (tests/e2e/test_messaging_thank_you.py).
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


def _refused(request: HttpRequest, *, status: int, expired: bool = False) -> HttpResponse:
    context = {"status": status, "expired": expired}
    return _public(render(request, "contact_plans/messaging/link_refused.html", context, status=status))


class _Refusal(Exception):
    def __init__(self, status: int, expired: bool = False):
        self.status, self.expired = status, expired


def _customer_of(token: str) -> tuple[Customer, str]:
    """The token's customer and channel; _Refusal(400) for a bad token, (404) for a gone customer."""
    try:
        customer_id, channel = token_read(token)
    except InvalidToken as exc:
        raise _Refusal(400, expired=str(exc) == "expired") from exc
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise _Refusal(404)
    return customer, channel


def _page(request: HttpRequest, customer: Customer, channel: str, *, done: str = "") -> HttpResponse:
    answers = contact_preferences_of(customer)
    rows = [
        {"name": f"{channel_code}:", "label": channel_label, "subscribed": answers[(channel_code, "")]}
        for channel_code, channel_label in Channel.choices
    ]
    topic_rows = [
        {"name": f"email:{code}", "label": label, "subscribed": answers[("email", code)]} for code, label in topics()
    ]
    context = {
        "customer_first_name": customer.name.split()[0] if customer.name else "",
        "channel": channel,
        # Within a sentence ("... by email"): the lower-case word, SMS as it is.
        "channel_label": gettext("email") if channel == Channel.EMAIL else gettext("SMS"),
        "unsubscribed": not answers[(channel, "")],
        "channels": rows,
        "topics": topic_rows,
        "done": done,
        "token": request.resolver_match.kwargs["token"],
    }
    response = _public(render(request, "contact_plans/messaging/preferences.html", context))
    response["Content-Language"] = translation.get_language()  # the customer's, not the browser's
    return response


@csrf_exempt  # RFC 8058: mail clients POST without cookies or a form token; the signed token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer, channel = _customer_of(token)
    except _Refusal as refusal:
        return _refused(request, status=refusal.status, expired=refusal.expired)
    with translation.override(customer.language):
        if request.method == "POST":
            contact_preferences_update(customer=customer, changes={(channel, ""): False})
            logger.info("messaging.unsubscribed customer=%s channel=%s", customer.pk, channel)
            return _page(request, customer, channel, done="unsubscribed")
        return _page(request, customer, channel)


@require_POST
def preferences_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer, channel = _customer_of(token)
    except _Refusal as refusal:
        return _refused(request, status=refusal.status, expired=refusal.expired)
    with translation.override(customer.language):
        wanted = set(request.POST.getlist("subscribed"))
        changes = {(code, ""): f"{code}:" in wanted for code in Channel.values}
        changes.update({("email", code): f"email:{code}" in wanted for code, _label in topics()})
        contact_preferences_update(customer=customer, changes=changes)
        return _page(request, customer, channel, done="saved")
