"""Helpers of the campaign tests: a segment with members, a newsletter template, a campaign."""

from datetime import time, timedelta

from django.test import TestCase
from django.utils import timezone

from contact_plans.campaigns import services
from contact_plans.models import Campaign, MessageTemplate
from segmentation.models import SegmentMembership
from tests.segmentation.factories import SegmentFactory

from .factories import MessageTemplateFactory

NEWSLETTER = {
    "en": {"subject": "Our news", "html": '<p>Read <a href="https://shop.example/news?a=1&amp;b=2">the news</a>.</p>'},
    "ca": {
        "subject": "Les nostres notícies",
        "html": '<p>Llegiu <a href="https://shop.example/news-ca">les notícies</a>.</p>',
    },
}


def newsletter_template(**fields) -> MessageTemplate:
    fields.setdefault("purpose", MessageTemplate.Purpose.PROMOTIONAL)
    fields.setdefault("topic", "news")
    return MessageTemplateFactory(contents=fields.pop("contents", NEWSLETTER), **fields)


def segment_of(*customers, name=None):
    segment = SegmentFactory(**({"name": name} if name else {}))
    for customer in customers:
        SegmentMembership.objects.create(
            segment=segment, customer=customer, entered_at=timezone.now() - timedelta(days=1)
        )
    return segment


def campaign_for(segment, template, *, schedule=True, control_percent=0, **fields) -> Campaign:
    fields.setdefault("send_on", timezone.localdate() + timedelta(days=2))
    fields.setdefault("send_time", time(10, 0))
    return services.campaign_create(
        name=fields.pop("name", "Spring newsletter"),
        template=template,
        segment=segment,
        control_percent=control_percent,
        schedule=schedule,
        **fields,
    )


def start(campaign, *, at=None):
    """Start the campaign's run as the beat would once it is due (chunks run eagerly in tests)."""
    at = at or services.run_starts_at(campaign.next_send_on, campaign.send_time) + timedelta(minutes=1)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.campaign_run_start(campaign_id=campaign.pk, now=at)
