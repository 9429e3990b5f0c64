"""Contests for members: a period, an entry rule, a prize, and a draw anyone can re-run.

**Entries** are counted from the ledger and the orders when the contest is drawn, in one
``INSERT ... SELECT`` (``ContestEntry``: a member and their number of entries): one per purchase of
at least ``min_amount`` placed in [starts_at, ends_at) (refunded or cancelled ones do not count), or
one per ``points_per_entry`` points earned in the period (earned less what was taken back). Only
members enrolled by the time of the purchase or the points take part; what happens after the end
counts for nothing. A contest "one per survey answered" counts what loyalty recorded as the member
answered (``ContestSurveyEntry``, from the ``survey.answered`` event: one per response, only while the
contest runs).

**A ranking** (``winner_method`` "ranking", with the points rule) instead of a draw: the winners are
the members with the most points earned in the period (earned less reversed), ties broken by who
reached their total first (the time of their last points in the period), then by the smaller member
id (``rank_winners``): a function of the recorded entries alone, re-run on the contest's page.

**The draw** is a function of the seed and the entries alone (``draw_winners``), so that anyone
with the seed (chosen when the contest is created, recorded and shown from then on) and the list of
entries gets the same winners. Weighted sampling without replacement (Efraimidis and Spirakis):
each member's number u = (int(sha256("<seed>:<member id>"), 16) + 1) / (2^256 + 1), their key
ln(u) / entries; the winners are the members with the largest keys, ties broken by the smaller
member id. A member with twice the entries has twice the chance to be drawn first.

Winners are told through the outbox (transactional: it is about something they took part in).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Order
from retention_crm import formats
from retention_crm.sql import db_datetime

from . import emails
from .models import Contest, ContestEntry, ContestSurveyEntry, ContestWinner, LedgerEntry, Member

MAX_WINNERS = 1000
ENTRY = LedgerEntry._meta.db_table
MEMBER = Member._meta.db_table
ORDER = Order._meta.db_table
CONTEST_ENTRY = ContestEntry._meta.db_table
SURVEY_ENTRY = ContestSurveyEntry._meta.db_table


def new_seed() -> str:
    return secrets.token_hex(16)


def contest_check(*, contest: Contest) -> None:
    errors: dict[str, list[str]] = {}
    if not (contest.name or "").strip():
        errors["name"] = [_("Give the contest a name.")]
    if not (contest.prize or "").strip():
        errors["prize"] = [_("Say what the winners get.")]
    if contest.starts_at and contest.ends_at and contest.ends_at <= contest.starts_at:
        errors["ends_at"] = [_("The contest must end after it starts.")]
    if contest.winners_count is not None and not 1 <= contest.winners_count <= MAX_WINNERS:
        errors["winners_count"] = [_("Between 1 and %(max)s winners.") % {"max": MAX_WINNERS}]
    if contest.min_amount is not None and contest.min_amount < 0:
        errors["min_amount"] = [_("A minimum purchase of 0 or more.")]
    if contest.points_per_entry is not None and contest.points_per_entry < 1:
        errors["points_per_entry"] = [_("At least 1 point per entry.")]
    if contest.winner_method == Contest.WinnerMethod.RANKING and contest.entry_rule != Contest.EntryRule.POINTS:
        errors["winner_method"] = [_("A ranking is by points earned: choose the entry rule by points.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def contest_save(*, contest: Contest) -> Contest:
    """Create or edit a contest; its seed is chosen at creation. A drawn contest is never changed."""
    if contest.pk is not None and Contest.objects.filter(pk=contest.pk, drawn_at__isnull=False).exists():
        raise ValidationError(_("This contest has been drawn: its rules and its result stay as they are."))
    contest.name = (contest.name or "").strip()
    contest.prize = (contest.prize or "").strip()
    contest_check(contest=contest)
    if not contest.seed:
        contest.seed = new_seed()
    contest.save()
    return contest


def _entries_select(contest: Contest, *, member_id: int | None = None) -> tuple[str, list]:
    """(member_id, entries, points, reached_at) of the contest's members, as SQL. Of a ranking the
    entries are the points earned; points and reached_at are null for the other contests."""
    only = "AND m.customer_id = %s" if member_id is not None else ""
    extra = [member_id] if member_id is not None else []
    if contest.winner_method == Contest.WinnerMethod.RANKING:
        return (
            f"""SELECT e.member_id, CAST(SUM(e.points) AS bigint), CAST(SUM(e.points) AS bigint), MAX(e.occurred_at) FROM {ENTRY} e
            JOIN {MEMBER} m ON m.customer_id = e.member_id
            WHERE e.kind IN ('earn', 'reverse') AND e.occurred_at >= %s AND e.occurred_at < %s {only}
            GROUP BY e.member_id HAVING SUM(e.points) > 0""",  # noqa: S608 - table names only
            [db_datetime(contest.starts_at), db_datetime(contest.ends_at), *extra],
        )
    if contest.entry_rule == Contest.EntryRule.SURVEY:
        only = "AND s.member_id = %s" if member_id is not None else ""
        return (
            f"""SELECT s.member_id, COUNT(*), CAST(NULL AS bigint), CAST(NULL AS timestamp with time zone) FROM {SURVEY_ENTRY} s
            WHERE s.contest_id = %s AND s.answered_at >= %s AND s.answered_at < %s {only}
            GROUP BY s.member_id""",  # noqa: S608 - table names only
            [contest.pk, db_datetime(contest.starts_at), db_datetime(contest.ends_at), *extra],
        )
    if contest.entry_rule == Contest.EntryRule.PURCHASE:
        return (
            f"""SELECT o.customer_id, COUNT(*), CAST(NULL AS bigint), CAST(NULL AS timestamp with time zone) FROM {ORDER} o JOIN {MEMBER} m ON m.customer_id = o.customer_id
            WHERE o.kind = 'purchase' AND o.status = 'placed' AND o.net_amount > 0 AND o.net_amount >= %s
            AND o.ordered_at >= %s AND o.ordered_at < %s AND m.enrolled_at <= o.ordered_at {only}
            GROUP BY o.customer_id""",  # noqa: S608 - table names only
            [contest.min_amount, db_datetime(contest.starts_at), db_datetime(contest.ends_at), *extra],
        )
    return (
        f"""SELECT e.member_id, CAST(FLOOR(SUM(e.points) / %s) AS bigint), CAST(NULL AS bigint), CAST(NULL AS timestamp with time zone) FROM {ENTRY} e
        JOIN {MEMBER} m ON m.customer_id = e.member_id
        WHERE e.kind IN ('earn', 'reverse') AND e.occurred_at >= %s AND e.occurred_at < %s {only}
        GROUP BY e.member_id HAVING FLOOR(SUM(e.points) / %s) >= 1""",  # noqa: S608 - table names only
        [
            contest.points_per_entry,
            db_datetime(contest.starts_at),
            db_datetime(contest.ends_at),
            *extra,
            contest.points_per_entry,
        ],
    )


def member_entries(*, contest: Contest, member_id: int) -> int:
    """A member's entries: as drawn, or so far for a contest not drawn yet."""
    if contest.drawn_at is not None:
        row = ContestEntry.objects.filter(contest=contest, member_id=member_id).values_list("tickets", flat=True)
        return row.first() or 0
    sql, params = _entries_select(contest, member_id=member_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[1]) if row else 0


def _key(seed: str, member_id: int, tickets: int) -> float:
    digest = int(hashlib.sha256(f"{seed}:{member_id}".encode()).hexdigest(), 16)
    return math.log((digest + 1) / (2**256 + 1)) / tickets


def draw_winners(*, seed: str, entries: list[tuple[int, int]], count: int) -> list[int]:
    """The winners (member ids, first drawn first) of a seeded draw over (member id, entries): the
    same seed and entries always give the same winners, in any order the entries come."""
    ranked = sorted(
        ((_key(seed, member_id, tickets), member_id) for member_id, tickets in entries if tickets > 0),
        key=lambda pair: (-pair[0], pair[1]),
    )
    return [member_id for _key_value, member_id in ranked[:count]]


def rank_winners(*, entries: list[tuple[int, int, datetime]], count: int) -> list[int]:
    """The winners (member ids, first first) of a ranking over (member id, points, reached at): the
    most points; on a tie, who reached their total first; then the smaller member id."""
    ranked = sorted((row for row in entries if row[1] > 0), key=lambda row: (-row[1], row[2], row[0]))
    return [member_id for member_id, _points, _reached in ranked[:count]]


def _winners_from_entries(contest: Contest) -> list[int]:
    rows = ContestEntry.objects.filter(contest=contest)
    if contest.winner_method == Contest.WinnerMethod.RANKING:
        entries = list(rows.values_list("member_id", "points", "reached_at"))
        return rank_winners(entries=entries, count=contest.winners_count)
    entries = list(rows.values_list("member_id", "tickets"))
    return draw_winners(seed=contest.seed, entries=entries, count=contest.winners_count)


def contest_draw_check(*, contest: Contest, now: datetime | None = None) -> None:
    """Refuse a draw before the contest's end, or of a contest drawn already."""
    if contest.drawn_at is not None:
        raise ValidationError(_("This contest has already been drawn."))
    if (now or timezone.now()) < contest.ends_at:
        raise ValidationError(
            _("The contest runs until %(date)s: draw it after its end.")
            % {"date": formats.format_datetime(contest.ends_at)}
        )


@transaction.atomic
def contest_draw(*, contest_id: int, user=None, now: datetime | None = None, notify: bool = True) -> Contest:
    """Count the entries, draw the winners with the recorded seed, tell them. Once: a second call
    is refused, as is a draw before the contest's end."""
    now = now or timezone.now()
    contest = Contest.objects.select_for_update().get(pk=contest_id)
    contest_draw_check(contest=contest, now=now)
    sql, params = _entries_select(contest)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CONTEST_ENTRY} (contest_id, member_id, tickets, points, reached_at) "  # noqa: S608
            f"SELECT %s, s.* FROM ({sql}) s",
            [contest.pk, *params],
        )
    winners = _winners_from_entries(contest)
    ContestWinner.objects.bulk_create(
        [ContestWinner(contest=contest, member_id=member_id, rank=rank) for rank, member_id in enumerate(winners, 1)]
    )
    contest.drawn_at, contest.drawn_by = now, user
    contest.save(update_fields=["drawn_at", "drawn_by"])
    members = Member.objects.select_related("customer").in_bulk(winners)
    for member_id in winners if notify else ():
        emails.contest_won_email(
            customer=members[member_id].customer, contest_id=contest.pk, contest=contest.name, prize=contest.prize
        )
    return contest


def contest_redraw(*, contest: Contest) -> tuple[list[int], bool]:
    """Re-run a drawn contest's draw (or ranking) from its seed and recorded entries: the winners it
    gives, and whether they are the winners recorded."""
    again = _winners_from_entries(contest)
    recorded = list(ContestWinner.objects.filter(contest=contest).order_by("rank").values_list("member_id", flat=True))
    return again, again == recorded


def member_rank(*, contest: Contest, member_id: int) -> int | None:
    """A member's place in a ranking (1 first), as recorded or so far; None without points."""
    if contest.drawn_at is not None:
        mine = ContestEntry.objects.filter(contest=contest, member_id=member_id).first()
        if mine is None:
            return None
        ahead = ContestEntry.objects.filter(contest=contest).filter(
            Q(points__gt=mine.points)
            | Q(points=mine.points, reached_at__lt=mine.reached_at)
            | Q(points=mine.points, reached_at=mine.reached_at, member_id__lt=member_id)
        )
        return ahead.count() + 1
    sql, params = _entries_select(contest)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH s(member_id, tickets, points, reached_at) AS ({sql}),
            me AS (SELECT * FROM s WHERE member_id = %s)
            SELECT (SELECT COUNT(*) FROM s, me WHERE s.points > me.points OR (s.points = me.points
            AND (s.reached_at < me.reached_at OR (s.reached_at = me.reached_at AND s.member_id < me.member_id))))
            FROM me""",  # noqa: S608 - our own SQL
            [*params, member_id],
        )
        row = cursor.fetchone()
    return int(row[0]) + 1 if row else None


@transaction.atomic
def contest_survey_enter(*, contest: Contest, customer_id: int, response_id, answered_at: datetime) -> bool:
    """Record one entry of a member in a contest "one per survey answered" for one survey response.
    Idempotent (a response enters once: a changed answer or a retry adds nothing; returns whether
    it was new). Refused with the reason: another entry rule, a contest drawn, an answer outside
    the period (after its end), a customer who is not a member."""
    if contest.entry_rule != Contest.EntryRule.SURVEY:
        raise ValidationError(_("This contest does not take entries by survey answers."))
    if contest.drawn_at is not None:
        raise ValidationError(_("This contest has already been drawn."))
    if answered_at >= contest.ends_at:
        raise ValidationError(
            _("The contest ended %(date)s: no more entries.") % {"date": formats.format_datetime(contest.ends_at)}
        )
    if answered_at < contest.starts_at:
        raise ValidationError(
            _("The contest starts %(date)s: no entries before.") % {"date": formats.format_datetime(contest.starts_at)}
        )
    member = Member.objects.filter(customer_id=customer_id, enrolled_at__lte=answered_at).first()
    if member is None:
        raise ValidationError(_("Only members enrolled when they answer take part."))
    _entry, created = ContestSurveyEntry.objects.get_or_create(
        contest=contest, response_id=response_id, defaults={"member": member, "answered_at": answered_at}
    )
    return created


def survey_answer_enter(*, customer_id: int, response_id, answered_at: datetime) -> int:
    """A survey answered: an entry in every contest "one per survey answered" running at that time
    (not drawn). Returns how many entries were new."""
    running = Contest.objects.filter(
        entry_rule=Contest.EntryRule.SURVEY, starts_at__lte=answered_at, ends_at__gt=answered_at, drawn_at=None
    )
    new = 0
    for contest in running:
        try:
            new += contest_survey_enter(
                contest=contest, customer_id=customer_id, response_id=response_id, answered_at=answered_at
            )
        except ValidationError:  # not a member: nothing to record
            continue
    return new


def member_contests(*, member_id: int, now: datetime | None = None) -> list[dict]:
    """The contests a member sees on their standing page: those running now, and those drawn in the
    last 90 days that they entered; with their entries and whether they won."""
    now = now or timezone.now()
    running = Contest.objects.filter(starts_at__lte=now, ends_at__gt=now)
    drawn = Contest.objects.filter(drawn_at__gte=now - timedelta(days=90), entries__member_id=member_id)
    rows = []
    for contest in (running | drawn).distinct().order_by("-ends_at")[:10]:
        rows.append(
            {
                "contest": contest,
                "entries": member_entries(contest=contest, member_id=member_id),
                "rank": member_rank(contest=contest, member_id=member_id)
                if contest.winner_method == Contest.WinnerMethod.RANKING
                else None,
                "won": contest.drawn_at is not None
                and ContestWinner.objects.filter(contest=contest, member_id=member_id).exists(),
            }
        )
    return rows


def contest_entries_rows(*, contest: Contest, visible, limit: int | None = None, offset: int = 0):
    """The entries per member that ``visible`` (a customer queryset from customer_visible_to) may
    see: (customer id, name, email, entries, points, reached at), the most entries first (of a
    ranking, in the ranking's order). As recorded once drawn, counted now before. A server-side
    cursor: the whole list streams to a CSV without being held in memory."""
    if contest.drawn_at is not None:
        sql = f"SELECT member_id, tickets, points, reached_at FROM {CONTEST_ENTRY} WHERE contest_id = %s"  # noqa: S608
        params: list = [contest.pk]
    else:
        sql, params = _entries_select(contest)
    visible_sql, visible_params = visible.values("pk").query.sql_with_params()
    customer = Customer._meta.db_table
    page = " LIMIT %s OFFSET %s" if limit is not None else ""
    query = f"""WITH s(member_id, tickets, points, reached_at) AS ({sql})
        SELECT c.id, c.name, c.email, s.tickets, s.points, s.reached_at
        FROM s JOIN {customer} c ON c.id = s.member_id
        WHERE c.id IN ({visible_sql})
        ORDER BY s.tickets DESC, s.reached_at ASC NULLS LAST, c.id{page}"""  # noqa: S608 - our own SQL
    all_params = [*params, *visible_params, *([limit, offset] if limit is not None else [])]
    with connection.chunked_cursor() as cursor:
        cursor.execute(query, all_params)
        while rows := cursor.fetchmany(2000):
            yield from rows
