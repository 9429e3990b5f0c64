"""Link tracking: links of outgoing emails go through /r/<token>/, which records the click and
redirects; a changed token is a 400 page, never a redirect; switched off globally, per template and
per campaign."""

import re
import time

import pytest
from django.core import signing
from django.test import Client

from contact_plans.messaging import links
from contact_plans.messaging.sending import send_template
from contact_plans.models import LinkClick

from .campaign_helpers import campaign_for, newsletter_template, segment_of, start
from .factories import MessageTemplateFactory, consenting_customer

pytestmark = pytest.mark.django_db

SHOP = {
    "en": {
        "subject": "Your order",
        "html": '<p><a href="https://shop.example/o?a=1&amp;b=2">Track it</a> '
        '<a href="mailto:help@shop.example">Help</a></p>',
    }
}


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _tracked(html: str) -> list[str]:
    return re.findall(r'href="([^"]*/r/[^"]+)"', html)


def test_a_click_is_recorded_and_redirects_to_the_link_that_was_in_the_message():
    customer = consenting_customer()
    message = send_template(template=MessageTemplateFactory(contents=SHOP), customer=customer, source_key="t:1")
    [url] = _tracked(message.html)

    response = Client().get(_path(url.replace("&amp;", "&")))

    assert response.status_code == 302 and response["Location"] == "https://shop.example/o?a=1&b=2"
    click = LinkClick.objects.get()
    assert (click.message_id, click.customer_id, click.url) == (
        message.pk,
        customer.pk,
        "https://shop.example/o?a=1&b=2",
    )
    assert "mailto:help@shop.example" in message.html  # only http(s) links are rewritten
    assert "shop.example/o" not in message.text.split("/r/")[0]  # the text part's link goes through it too
    assert "/r/" in message.text


def test_a_head_request_redirects_without_counting_a_click():
    message = send_template(
        template=MessageTemplateFactory(contents=SHOP), customer=consenting_customer(), source_key="t:2"
    )

    response = Client().head(_path(_tracked(message.html)[0]))

    assert response.status_code == 302 and not LinkClick.objects.exists()


@pytest.mark.parametrize("tamper", ["change_url", "garbage", "other_salt"])
def test_a_changed_token_is_a_400_page_and_never_a_redirect(tamper):
    message_id, target = "<abc@example.com>", "https://shop.example/"
    token = links.link_token(message_id=message_id, url=target)
    if tamper == "change_url":
        forged = signing.dumps([message_id, "https://evil.example/"], salt="another", compress=True)
        token = forged.split(":")[0] + ":" + token.split(":", 1)[1]
    elif tamper == "garbage":
        token = token[:-3] + "xyz"
    else:
        token = signing.dumps([message_id, "https://evil.example/"], salt="contact_plans.messaging.unsubscribe")

    response = Client().get(f"/r/{token}/")

    assert response.status_code == 400
    assert "Location" not in response and "evil.example" not in response.content.decode()
    assert "This link does not work" in response.content.decode()
    assert not LinkClick.objects.exists()


def test_an_expired_link_says_so_and_shows_where_it_led(settings):
    token = links.link_token(message_id="<abc@example.com>", url="https://shop.example/sale")
    settings.MESSAGING_LINK_MAX_AGE_DAYS = 0
    time.sleep(1.1)

    response = Client().get(f"/r/{token}/")

    assert response.status_code == 400 and "This link has expired" in response.content.decode()
    assert "https://shop.example/sale" in response.content.decode() and "Location" not in response


def test_the_unsubscribe_and_preference_links_are_never_rewritten():
    template = newsletter_template()
    message = send_template(template=template, customer=consenting_customer(), source_key="t:3")

    assert len(_tracked(message.html)) == 1
    assert "/m/u/" in message.html and "List-Unsubscribe" in bytes(message.mime).decode()


def test_links_to_the_crms_own_pages_are_never_rewritten(settings):
    """A loyalty standing page or a survey answer link carries the reader's token: not tracked."""
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    own = "https://crm.example.com/loyalty/s/abc/"
    template = MessageTemplateFactory(
        contents={
            "en": {
                "subject": "Hi",
                "html": f'<p><a href="{own}">Your points</a> <a href="https://shop.example/sale">Sale</a></p>',
            }
        }
    )
    message = send_template(template=template, customer=consenting_customer(), source_key="t:own")

    assert f'href="{own}"' in message.html
    assert len(_tracked(message.html)) == 1


def test_tracking_is_switched_off_by_the_setting_the_template_and_the_campaign(settings):
    customer = consenting_customer()
    settings.MESSAGING_TRACK_LINKS = False
    off_globally = send_template(template=MessageTemplateFactory(contents=SHOP), customer=customer, source_key="t:4")
    settings.MESSAGING_TRACK_LINKS = True
    off_in_template = send_template(
        template=MessageTemplateFactory(contents=SHOP, track_links=False), customer=customer, source_key="t:5"
    )

    assert not _tracked(off_globally.html) and not _tracked(off_in_template.html)
    assert 'href="https://shop.example/o?a=1&amp;b=2"' in off_globally.html


def test_a_campaign_tracks_its_links_per_message_unless_switched_off():
    ann, bea = consenting_customer(), consenting_customer()
    tracked = campaign_for(segment_of(ann, bea), newsletter_template())
    untracked = campaign_for(segment_of(ann), newsletter_template(), track_links=False, name="Untracked")

    start(tracked)
    start(untracked)

    from contact_plans.models import CampaignRecipient

    by_run = {
        (r.run.campaign_id, r.customer_id): r.message
        for r in CampaignRecipient.objects.select_related("message", "run")
    }
    ann_link, bea_link = _tracked(by_run[(tracked.pk, ann.pk)].html), _tracked(by_run[(tracked.pk, bea.pk)].html)
    assert ann_link and bea_link and ann_link != bea_link
    assert not _tracked(by_run[(untracked.pk, ann.pk)].html)
    Client().get(_path(bea_link[0]))
    assert LinkClick.objects.get().customer_id == bea.pk
