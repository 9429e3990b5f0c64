"""Contests: entries by purchases or points in the period, a seeded draw that anyone can re-run
(the same seed and entries give the same winners), winners told through the outbox, the pages and
the API."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from contact_plans.models.outbox import Message
from customers import services as customer_services
from loyalty import contests, services
from loyalty.models import Contest, ContestEntry, ContestWinner
from tests.clients import client_for
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .factories import EarningRuleFactory, MemberFactory, place_order

pytestmark = pytest.mark.django_db

START, END = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)


def _contest(**fields) -> Contest:
    values = {"name": "Spring draw", "prize": "A hamper", "starts_at": START, "ends_at": END, "winners_count": 2}
    return contests.contest_save(contest=Contest(**{**values, **fields}))


def test_the_draw_is_a_function_of_the_seed_and_the_entries():
    entries = [(member, 1 + member % 4) for member in range(1, 200)]

    first = contests.draw_winners(seed="abc", entries=entries, count=5)
    shuffled = contests.draw_winners(seed="abc", entries=list(reversed(entries)), count=5)
    other = contests.draw_winners(seed="abd", entries=entries, count=5)

    assert first == shuffled and len(set(first)) == 5 and first != other
    assert contests.draw_winners(seed="abc", entries=[(7, 3)], count=5) == [7]
    assert contests.draw_winners(seed="abc", entries=[], count=5) == []


def test_more_entries_win_more_often():
    wins = sum(contests.draw_winners(seed=f"s{n}", entries=[(1, 1), (2, 3)], count=1) == [2] for n in range(2000))

    assert 0.70 < wins / 2000 < 0.80  # 3 of 4 entries


def test_purchase_entries_count_placed_purchases_over_the_amount_in_the_period():
    EarningRuleFactory()
    ann, bea, cid = MemberFactory(), MemberFactory(), MemberFactory()
    for amount, day in (("30", 2), ("25", 5), ("10", 6)):
        place_order(ann.customer, amount=amount, at=START + timedelta(days=day))
    refunded = place_order(bea.customer, amount="50", at=START + timedelta(days=1))
    customer_services.order_refund(order=refunded, amount=Decimal("50"))
    place_order(bea.customer, amount="50", at=END + timedelta(hours=1))  # after the end
    place_order(cid.customer, amount="50", at=START - timedelta(hours=1))  # before the start
    place_order(CustomerFactory(), amount="90", at=START + timedelta(days=1))  # not a member
    contest = _contest(min_amount=Decimal("20"))

    assert contests.member_entries(contest=contest, member_id=ann.pk) == 2
    contests.contest_draw(contest_id=contest.pk, now=END)

    assert list(ContestEntry.objects.values_list("member_id", "tickets")) == [(ann.pk, 2)]
    assert list(ContestWinner.objects.values_list("member_id", "rank")) == [(ann.pk, 1)]


def test_points_entries_are_one_per_n_points_earned_in_the_period():
    EarningRuleFactory()
    ann, bea = MemberFactory(), MemberFactory()
    for member, amount in ((ann, "250"), (bea, "90")):
        order = place_order(member.customer, amount=amount, at=START + timedelta(days=3))
        services.points_earn_orders(orders=type(order).objects.filter(pk=order.pk))
    contest = _contest(entry_rule=Contest.EntryRule.POINTS, points_per_entry=100)

    contests.contest_draw(contest_id=contest.pk, now=END + timedelta(days=1))

    assert list(ContestEntry.objects.values_list("member_id", "tickets")) == [(ann.pk, 2)]


def test_winners_are_drawn_once_told_by_email_and_the_draw_re_runs_the_same():
    members = [MemberFactory(customer=CustomerFactory(email=f"m{n}@example.com")) for n in range(6)]
    for n, member in enumerate(members):
        for day in range(n + 1):
            place_order(member.customer, amount="20", at=START + timedelta(days=day))
    contest = _contest(winners_count=3)
    seed = contest.seed

    contests.contest_draw(contest_id=contest.pk, now=END)

    contest.refresh_from_db()
    winners = list(ContestWinner.objects.filter(contest=contest).values_list("member_id", flat=True))
    entries = list(ContestEntry.objects.filter(contest=contest).values_list("member_id", "tickets"))
    assert contest.seed == seed and len(winners) == 3 and contest.drawn_at == END
    assert winners == contests.draw_winners(seed=seed, entries=entries, count=3)
    assert contests.contest_redraw(contest=contest) == (winners, True)
    mails = Message.objects.filter(source_key__startswith=f"loyalty.contest_won.{contest.pk}.")
    assert sorted(mails.values_list("customer_id", flat=True)) == sorted(winners)
    with pytest.raises(ValidationError, match="already been drawn"):
        contests.contest_draw(contest_id=contest.pk, now=END + timedelta(days=1))
    with pytest.raises(ValidationError, match="stay as they are"):
        contest.prize = "Something else"
        contests.contest_save(contest=contest)


def test_a_draw_before_the_end_is_refused_and_writes_nothing():
    contest = _contest()

    with pytest.raises(ValidationError, match="draw it after its end"):
        contests.contest_draw(contest_id=contest.pk, now=END - timedelta(minutes=1))

    assert not ContestEntry.objects.exists() and Contest.objects.get().drawn_at is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ends_at": START}, "ends_at"),
        ({"winners_count": 0}, "winners_count"),
        ({"prize": " "}, "prize"),
        ({"min_amount": Decimal("-1")}, "min_amount"),
    ],
)
def test_bad_contests_are_refused_with_the_field(fields, field):
    with pytest.raises(ValidationError) as refused:
        _contest(**fields)

    assert field in refused.value.message_dict and not Contest.objects.exists()


def test_marketers_create_and_draw_a_contest_in_the_browser(marta, alice):
    member = MemberFactory()
    place_order(member.customer, amount="20", at=timezone.now() - timedelta(days=5))
    browser = client_for(marta)
    start = (timezone.localtime() - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    end = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "name": "Week draw",
        "prize": "A voucher",
        "starts_at": start,
        "ends_at": end,
        "entry_rule": "purchase",
        "min_amount": "0",
        "points_per_entry": "100",
        "winners_count": "1",
    }

    created = browser.post(reverse("loyalty:contest_create"), form)
    contest = Contest.objects.get()
    page = browser.get(reverse("loyalty:contest", args=[contest.pk])).content.decode()
    drawn = browser.post(reverse("loyalty:contest", args=[contest.pk]), follow=True).content.decode()

    assert created.status_code == 302 and contest.seed in page and "Draw the winners" in page
    assert member.customer.name in drawn and "gives the same winners" in drawn
    assert browser.get(reverse("loyalty:contests")).status_code == 200
    assert client_for(alice).get(reverse("loyalty:contest", args=[contest.pk])).status_code == 404
    assert client_for(alice).post(reverse("loyalty:contest", args=[contest.pk])).status_code == 404


def test_the_api_lists_contests_with_seed_and_only_visible_winners(alice, bob):
    mine = MemberFactory(customer=CustomerFactory(account_manager=alice))
    place_order(mine.customer, amount="20", at=START + timedelta(days=1))
    contest = _contest(winners_count=1)
    contests.contest_draw(contest_id=contest.pk, now=END)

    seen = api_client_for(alice).get(reverse("api-loyalty-contests")).json()["results"][0]
    unseen = api_client_for(bob).get(reverse("api-loyalty-contests")).json()["results"][0]

    assert seen["seed"] == contest.seed and seen["winners"] == [mine.pk]
    assert unseen["winners"] == []


def test_the_standing_page_shows_the_members_contests(client):
    from loyalty.standing import standing_path

    member = MemberFactory()
    now = timezone.now()
    place_order(member.customer, amount="20", at=now - timedelta(days=1))
    _contest(name="Running now", starts_at=now - timedelta(days=3), ends_at=now + timedelta(days=3))

    page = client.get(standing_path(member.pk)).content.decode()

    assert "Running now" in page and "You have 1 entry." in page and "/loyalty/r/" in page
    assert "standing-referral-code" in page


def test_the_draw_task_draws_once_and_a_draw_asked_before_the_end_is_refused_at_once(marta):
    from loyalty.tasks import contest_draw_task

    member = MemberFactory()
    place_order(member.customer, amount="20", at=START + timedelta(days=1))
    ended = _contest(winners_count=1)
    running = _contest(
        name="Later", starts_at=timezone.now() - timedelta(days=1), ends_at=timezone.now() + timedelta(days=1)
    )

    contest_draw_task(ended.pk, marta.pk)
    contest_draw_task(ended.pk, marta.pk)  # a retry: nothing more
    refused = client_for(marta).post(reverse("loyalty:contest", args=[running.pk]), follow=True).content.decode()

    assert ContestWinner.objects.filter(contest=ended).count() == 1
    assert Contest.objects.get(pk=ended.pk).drawn_by == marta
    assert "draw it after its end" in refused and Contest.objects.get(pk=running.pk).drawn_at is None
