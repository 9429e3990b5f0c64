"""Link tracking: the links of an outgoing email go through ``/r/<token>/``, which records the click
(``LinkClick``: message, customer, link, time) and redirects to the link (docs/campaigns.md).

The token is the message's Message-ID and the link's address, signed with django.core.signing under
a salt of its own and timestamped: the redirect goes only to an address that was in a message we
wrote, so a changed token is a 400 page, never an open redirect. Nothing personal is in it.

Rewritten at enqueue (``message_enqueue`` and the campaigns' chunks), when the Message-ID is known:
``http``/``https`` links only; the unsubscribe and preference-centre links stay as they are (they
must work without a detour, and are not "clicks"). Switched off everywhere with
``MESSAGING_TRACK_LINKS = False``, per template (``MessageTemplate.track_links``) and per campaign.
"""

from __future__ import annotations

import functools
import html as html_lib
import logging
import re

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from contact_plans.models import LinkClick, Message

from . import tokens

logger = logging.getLogger(__name__)

SALT = "contact_plans.messaging.link"
# href="..." or href='...' in the HTML part; the address is HTML-escaped there (&amp;).
_HREF = re.compile(r"""(\bhref\s*=\s*)(["'])(https?://[^"'\s>]+)\2""", re.IGNORECASE)
# A bare address in the text part, as html_to_text writes links: "text (url)".
_BARE = re.compile(r"""https?://[^\s<>()"']+""")


class InvalidLink(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def tracking_enabled(*, template=None, campaign_track_links: bool = True) -> bool:
    return bool(settings.MESSAGING_TRACK_LINKS and campaign_track_links and getattr(template, "track_links", True))


def _ours(url: str) -> bool:
    """Links that must not be rewritten: every link to the CRM's own public pages (unsubscribe and
    preferences, a survey's answer links, the loyalty standing page, the redirect itself). They carry
    the reader's signed token, which a click record would keep, and their own pages record what
    matters (an answer, a redemption)."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return url == base or url.startswith(f"{base}/")


def link_token(*, message_id: str, url: str) -> str:
    return tokens.dumps([message_id, url], salt=SALT, compress=True)  # signing.dumps's string, cheaper


@functools.lru_cache(maxsize=8)
def _redirect_around(base: str) -> tuple[str, str]:
    """What comes before and after the token in a redirect link (reversed once: a campaign writes
    one per message and link)."""
    before, _marker, after = reverse("messaging:link", args=["TOKEN"]).rpartition("TOKEN")
    return base.rstrip("/") + before, after


def link_url(*, message_id: str, url: str) -> str:
    before, after = _redirect_around(settings.PUBLIC_BASE_URL)
    return before + link_token(message_id=message_id, url=url) + after


def link_read(token: str) -> tuple[str, str]:
    """(Message-ID, address) of a valid token; InvalidLink("expired" or "invalid") otherwise."""
    try:
        message_id, url = signing.loads(token, salt=SALT, max_age=settings.MESSAGING_LINK_MAX_AGE_DAYS * 24 * 3600)
    except signing.SignatureExpired as exc:
        raise InvalidLink("expired") from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidLink("invalid") from exc
    if not (isinstance(message_id, str) and isinstance(url, str) and url.lower().startswith(("http://", "https://"))):
        raise InvalidLink("invalid")
    return message_id, url


def _expired_destination(token: str) -> str:
    try:
        return signing.loads(token, salt=SALT)[1]
    except (signing.BadSignature, ValueError, TypeError, IndexError):
        return ""


def links_track(*, html: str, text: str, message_id: str) -> tuple[str, str]:
    """The HTML and text parts with every http(s) link sent through the redirect."""
    tracked: dict[str, str] = {}

    def tracking(url: str) -> str:
        if url not in tracked:
            tracked[url] = link_url(message_id=message_id, url=url)
        return tracked[url]

    def in_html(match: re.Match) -> str:
        url = html_lib.unescape(match.group(3))
        if _ours(url):
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{html_lib.escape(tracking(url))}{match.group(2)}"

    def in_text(match: re.Match) -> str:
        url = match.group(0)
        return url if _ours(url) else tracking(url)

    return _HREF.sub(in_html, html), _BARE.sub(in_text, text)


@require_safe
@never_cache
def link_redirect(request: HttpRequest, token: str) -> HttpResponse:
    """``GET /r/<token>/``: record the click and redirect; a token we did not sign is a 400 page."""
    try:
        message_id, url = link_read(token)
    except InvalidLink as exc:
        # An expired link is still one we signed: its address may be shown (as text, not followed).
        context = {"reason": exc.reason, "destination": _expired_destination(token) if exc.reason == "expired" else ""}
        response = render(request, "contact_plans/messaging/link_invalid.html", context, status=400)
        response["Referrer-Policy"] = "no-referrer"
        return response
    message = Message.objects.filter(message_id=message_id).only("id", "customer_id").first()
    # A HEAD (a link checker, a mail scanner) is not a reader's click.
    if message is not None and request.method == "GET":
        LinkClick.objects.create(message_id=message.pk, customer_id=message.customer_id, url=url)
        logger.info("messaging.link_clicked message=%s", message.pk)
    response = HttpResponseRedirect(url)
    response["Referrer-Policy"] = "no-referrer"
    return response
