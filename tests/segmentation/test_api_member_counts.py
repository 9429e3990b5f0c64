"""A segment's member count, in the API and on its page, counts only the members the user may see:
an account manager hers, an administrator or a marketer everyone."""

import pytest
from django.utils import timezone

from segmentation.models import SegmentMembership
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .factories import SegmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment(alice, bob):
    """Two members in Alice's book, three in Bob's: member_count 5, as the last refresh counted."""
    segment = SegmentFactory(member_count=5)
    for manager, how_many in ((alice, 2), (bob, 3)):
        for _ in range(how_many):
            SegmentMembership.objects.create(
                segment=segment, customer=CustomerFactory(account_manager=manager), entered_at=timezone.now()
            )
    return segment


def test_an_account_manager_is_told_the_members_of_her_book_only(alice, segment):
    client = api_client_for(alice)

    listed = client.get("/api/v1/segments/").json()["results"]
    detail = client.get(f"/api/v1/segments/{segment.pk}/").json()

    assert [row["member_count"] for row in listed if row["id"] == segment.pk] == [2]
    assert detail["member_count"] == 2


def test_those_who_see_every_book_are_told_the_whole_count(ada, marta, segment):
    for user in (ada, marta):
        assert api_client_for(user).get(f"/api/v1/segments/{segment.pk}/").json()["member_count"] == 5


def test_the_segment_page_shows_an_account_manager_her_book_and_no_whole_size_history(client, alice, segment):
    client.force_login(alice)

    response = client.get(f"/segments/{segment.pk}/")

    assert response.context["chart"] is None
    text = response.content.decode()
    assert "2 in your book" in text and ">5<" not in text
