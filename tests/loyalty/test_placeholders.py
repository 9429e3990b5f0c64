"""The {{ loyalty }} block of message templates, from the registry loyalty fills in its ready()."""

import pytest

from loyalty import services
from retention_crm import message_placeholders as mp
from tests.customers.factories import CustomerFactory

from .factories import MemberFactory, TierFactory

pytestmark = pytest.mark.django_db


def test_the_block_gives_a_members_standing_and_plain_zeros_for_others(ada):
    TierFactory(name="Silver", threshold=100)
    member = MemberFactory()
    services.points_adjust(customer=member.customer, points=70, reason="Welcome", user=ada)
    placeholder = next(p for p in mp.placeholders() if p.name == "loyalty")

    block = placeholder.provider(member.customer)
    other = placeholder.provider(CustomerFactory())

    assert (block["member"], block["points"], block["next_tier"], block["expiring"]) == (True, 70, "Silver", 0)
    assert "/loyalty/s/" in block["standing_url"] and set(block) == set(placeholder.fields)
    assert (other["member"], other["points"], other["standing_url"]) == (False, 0, "")
    mp.plain(block, name="loyalty")  # only plain values reach the sandbox
