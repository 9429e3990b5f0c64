"""Contests' other parts: winners by ranking (most points earned, reproducible tie-breaks), entries
by answering a survey (from the survey.answered event, once per response, never after the end),
and the entries seen by marketers (page, CSV, scoped to what they may see) and by the member."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from contact_plans.models.outbox import Message
from customers.models import Order
from loyalty import contests, services
from loyalty.models import Contest, ContestEntry, ContestSurveyEntry, ContestWinner
from retention_crm import events
from tests.clients import client_for
from tests.conftest import api_client_for
from tests.customers.factories import CustomerFactory

from .factories import EarningRuleFactory, MemberFactory, place_order

pytestmark = pytest.mark.django_db

START, END = datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)


def _contest(**fields) -> Contest:
    values = {"name": "Points race", "prize": "A hamper", "starts_at": START, "ends_at": END, "winners_count": 2}
    return contests.contest_save(contest=Contest(**{**values, **fields}))


def _earn(member, amount: str, at: datetime) -> None:
    order = place_order(member.customer, amount=amount, at=at)
    services.points_earn_orders(orders=Order.objects.filter(pk=order.pk))


# --- Ranking ----------------------------------------------------------------------------------------


def test_the_ranking_is_by_points_then_who_reached_the_total_first_then_member_id():
    t1, t2 = START + timedelta(days=1), START + timedelta(days=2)
    entries = [(5, 100, t2), (9, 300, t2), (3, 100, t2), (4, 100, t1), (8, 0, t1)]

    first = contests.rank_winners(entries=entries, count=10)

    assert first == [9, 4, 3, 5]  # 300 first; of the 100s, 4 reached it first; then 3 before 5
    assert contests.rank_winners(entries=list(reversed(entries)), count=10) == first
    assert contests.rank_winners(entries=entries, count=2) == [9, 4]
    assert contests.rank_winners(entries=[], count=3) == []


def test_a_ranking_contest_ranks_the_points_earned_in_the_period_and_re_runs_the_same():
    EarningRuleFactory()
    ann, bea, cid, dan = (MemberFactory(customer=CustomerFactory(email=f"r{n}@example.com")) for n in range(4))
    _earn(ann, "120", START + timedelta(days=5))
    _earn(bea, "50", START + timedelta(days=1))
    _earn(bea, "70", START + timedelta(days=2))  # 120 too, reached on day 2: before ann
    _earn(cid, "500", START - timedelta(days=1))  # before the period: not counted
    _earn(cid, "40", START + timedelta(days=3))
    _earn(dan, "900", END)  # at the end: not counted
    contest = _contest(entry_rule=Contest.EntryRule.POINTS, winner_method=Contest.WinnerMethod.RANKING)

    assert contests.member_rank(contest=contest, member_id=ann.pk) == 2
    assert contests.member_rank(contest=contest, member_id=dan.pk) is None
    contests.contest_draw(contest_id=contest.pk, now=END)

    contest.refresh_from_db()
    assert list(ContestWinner.objects.filter(contest=contest).values_list("member_id", "rank")) == [
        (bea.pk, 1),
        (ann.pk, 2),
    ]
    recorded = ContestEntry.objects.filter(contest=contest).order_by("-points", "reached_at")
    assert [(e.member_id, e.points) for e in recorded] == [(bea.pk, 120), (ann.pk, 120), (cid.pk, 40)]
    assert recorded[0].reached_at == START + timedelta(days=2)
    assert contests.contest_redraw(contest=contest) == ([bea.pk, ann.pk], True)
    assert contests.member_rank(contest=contest, member_id=cid.pk) == 3
    mails = Message.objects.filter(source_key__startswith=f"loyalty.contest_won.{contest.pk}.")
    assert sorted(mails.values_list("customer_id", flat=True)) == sorted([ann.pk, bea.pk])


def test_a_ranking_needs_the_points_rule():
    with pytest.raises(ValidationError) as refused:
        _contest(entry_rule=Contest.EntryRule.PURCHASE, winner_method=Contest.WinnerMethod.RANKING)

    assert "winner_method" in refused.value.message_dict and not Contest.objects.exists()


# --- Survey entries ----------------------------------------------------------------------------------


def test_a_survey_answer_enters_the_running_survey_contests_once_per_response(django_capture_on_commit_callbacks):
    now = timezone.now()
    member, outsider = MemberFactory(), CustomerFactory()
    running = _contest(
        entry_rule=Contest.EntryRule.SURVEY, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)
    )
    ended = _contest(
        entry_rule=Contest.EntryRule.SURVEY, starts_at=now - timedelta(days=9), ends_at=now - timedelta(days=1)
    )
    by_points = _contest(
        entry_rule=Contest.EntryRule.POINTS, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)
    )
    first, second = uuid.uuid4(), uuid.uuid4()
    at = now.isoformat()  # when they answered: the event may follow a minute later

    with django_capture_on_commit_callbacks(execute=True):
        events.publish(events.SURVEY_ANSWERED, response_id=first, customer_id=member.pk, answered_at=at)
        events.publish(events.SURVEY_ANSWERED, response_id=first, customer_id=member.pk, answered_at=at)  # changed
        events.publish(events.SURVEY_ANSWERED, response_id=second, customer_id=member.pk, answered_at=at)
        events.publish(events.SURVEY_ANSWERED, response_id=uuid.uuid4(), customer_id=outsider.pk, answered_at=at)

    assert ContestSurveyEntry.objects.filter(contest=running).count() == 2
    assert not ContestSurveyEntry.objects.exclude(contest=running).exists()
    assert contests.member_entries(contest=running, member_id=member.pk) == 2
    assert ended.pk and by_points.pk


def test_a_survey_entry_after_the_end_or_elsewhere_is_refused_with_the_reason():
    member = MemberFactory()
    contest = _contest(entry_rule=Contest.EntryRule.SURVEY)
    by_purchase = _contest(name="Purchases")
    late = {"customer_id": member.pk, "response_id": uuid.uuid4()}

    with pytest.raises(ValidationError, match="no more entries"):
        contests.contest_survey_enter(contest=contest, answered_at=END, **late)
    with pytest.raises(ValidationError, match="no entries before"):
        contests.contest_survey_enter(contest=contest, answered_at=START - timedelta(seconds=1), **late)
    with pytest.raises(ValidationError, match="does not take entries by survey"):
        contests.contest_survey_enter(contest=by_purchase, answered_at=START, **late)
    with pytest.raises(ValidationError, match="Only members"):
        contests.contest_survey_enter(
            contest=contest, customer_id=CustomerFactory().pk, response_id=uuid.uuid4(), answered_at=START
        )
    assert not ContestSurveyEntry.objects.exists()


def test_a_survey_contest_is_drawn_from_the_recorded_answers_and_the_task_is_idempotent():
    from loyalty.tasks import contest_survey_entry_task

    ann, bea = MemberFactory(), MemberFactory()
    contest = _contest(entry_rule=Contest.EntryRule.SURVEY, winners_count=1)
    response = str(uuid.uuid4())
    for _ in range(2):  # a retried task
        contest_survey_entry_task(response, ann.pk, (START + timedelta(days=1)).isoformat())
    contest_survey_entry_task(str(uuid.uuid4()), ann.pk, (START + timedelta(days=2)).isoformat())
    contest_survey_entry_task(str(uuid.uuid4()), bea.pk, (END + timedelta(hours=1)).isoformat())  # late: no entry

    contests.contest_draw(contest_id=contest.pk, now=END)

    assert list(ContestEntry.objects.values_list("member_id", "tickets")) == [(ann.pk, 2)]
    assert list(ContestWinner.objects.values_list("member_id", flat=True)) == [ann.pk]
    with pytest.raises(ValidationError, match="already been drawn"):
        contests.contest_survey_enter(
            contest=Contest.objects.get(), customer_id=bea.pk, response_id=uuid.uuid4(), answered_at=START
        )


# --- Entries visible --------------------------------------------------------------------------------


def test_marketers_see_the_entries_per_member_on_the_page_and_as_csv(marta, alice):
    EarningRuleFactory()
    ann, bea = (
        MemberFactory(customer=CustomerFactory(name="Ann Entrant")),
        MemberFactory(customer=CustomerFactory(name="=Bea")),
    )
    for day in (1, 2, 3):
        place_order(ann.customer, amount="30", at=START + timedelta(days=day))
    place_order(bea.customer, amount="30", at=START + timedelta(days=1))
    contest = _contest(min_amount=10)
    url = reverse("loyalty:contest", args=[contest.pk])

    before = client_for(marta).get(url).content.decode()
    contests.contest_draw(contest_id=contest.pk, now=END)
    after = client_for(marta).get(url).content.decode()
    download = client_for(marta).get(url, {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))

    assert "Ann Entrant" in before and "So far" in before
    assert "Ann Entrant" in after and "As recorded" in after
    assert rows[0] == ["Customer id", "Name", "Email", "Entries"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [(str(ann.pk), "Ann Entrant", "3"), (str(bea.pk), "'=Bea", "1")]
    assert client_for(alice).get(url, {"format": "csv"}).status_code == 404


def test_the_entries_list_shows_only_customers_the_user_may_see(alice, bob, ada):
    mine = MemberFactory(customer=CustomerFactory(account_manager=alice, name="Alice's member"))
    theirs = MemberFactory(customer=CustomerFactory(account_manager=bob, name="Bob's member"))
    for member in (mine, theirs):
        place_order(member.customer, amount="20", at=START + timedelta(days=1))
    contest = _contest()

    def names(user):
        return [row[1] for row in contests.contest_entries_rows(contest=contest, visible=_visible(user))]

    assert names(alice) == ["Alice's member"]
    assert sorted(names(ada)) == ["Alice's member", "Bob's member"]
    assert names(bob) == ["Bob's member"]


def _visible(user):
    from customers.selectors import customer_visible_to

    return customer_visible_to(user)


def test_the_ranking_page_shows_the_ranking_used_and_the_api_the_method(marta, alice):
    EarningRuleFactory()
    member = MemberFactory(customer=CustomerFactory(name="Top Earner"))
    _earn(member, "80", START + timedelta(days=1))
    contest = _contest(entry_rule=Contest.EntryRule.POINTS, winner_method=Contest.WinnerMethod.RANKING)
    contests.contest_draw(contest_id=contest.pk, now=END)

    page = client_for(marta).get(reverse("loyalty:contest", args=[contest.pk])).content.decode()
    api = api_client_for(alice).get(reverse("api-loyalty-contests")).json()["results"][0]

    assert "Ranking: the most points earned" in page and "Top Earner" in page and "same winners" in page
    assert api["winner_method"] == "ranking"


def test_the_member_sees_their_place_and_survey_entries_on_the_standing_page(client):
    from loyalty.standing import standing_path

    EarningRuleFactory()
    now = timezone.now()
    ann, bea = MemberFactory(), MemberFactory()
    _earn(ann, "50", now - timedelta(hours=2))
    _earn(bea, "90", now - timedelta(hours=1))
    window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=1)}
    _contest(name="Race", entry_rule=Contest.EntryRule.POINTS, winner_method=Contest.WinnerMethod.RANKING, **window)
    survey = _contest(name="Answer and win", entry_rule=Contest.EntryRule.SURVEY, **window)
    contests.contest_survey_enter(contest=survey, customer_id=ann.pk, response_id=uuid.uuid4(), answered_at=now)

    page = client.get(standing_path(ann.pk)).content.decode()

    assert "Your points: 50, place 2." in page
    assert "Answer and win" in page and "One entry per survey you answer." in page and "You have 1 entry." in page


def test_a_marketer_creates_a_ranking_contest_in_the_browser_and_a_bad_one_is_named(marta):
    browser = client_for(marta)
    form = {
        "name": "Race",
        "prize": "A voucher",
        "starts_at": "2025-03-01T00:00",
        "ends_at": "2025-04-01T00:00",
        "entry_rule": "purchase",
        "min_amount": "0",
        "points_per_entry": "100",
        "winners_count": "3",
        "winner_method": "ranking",
    }

    refused = browser.post(reverse("loyalty:contest_create"), form)
    created = browser.post(reverse("loyalty:contest_create"), {**form, "entry_rule": "points"})

    assert refused.status_code == 200 and "A ranking is by points earned" in refused.content.decode()
    assert created.status_code == 302 and Contest.objects.get().winner_method == "ranking"
