"""A call's outcome on the customer's timeline (logged from My book or the API)."""

import pytest

from customers.models import Interaction
from tests.clients import client_for

from .factories import InteractionFactory
from .views_helpers import detail_url

pytestmark = pytest.mark.django_db


def test_the_timeline_shows_a_calls_outcome_and_notes(alice, alices_customer):
    InteractionFactory(
        customer=alices_customer,
        kind=Interaction.Kind.CALL,
        subject="Renewal",
        body="Call back after 3 pm",
        outcome=Interaction.Outcome.NO_ANSWER,
        author=alice,
    )

    html = client_for(alice).get(detail_url(alices_customer)).content.decode()

    timeline = html.split('id="timeline"')[1]
    assert "Renewal" in timeline and "Call back after 3 pm" in timeline
    assert '<span class="badge text-bg-info-subtle text-info-emphasis timeline-outcome">No answer</span>' in timeline
