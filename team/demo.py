"""The demo's people (after seed_demo, on ``demo.seeded``): two teams with their leads, the demo
users as employees (marta leads Customer success, whose people are amelia, budi and carles), and
one-to-ones with agendas, shared and private notes and action items: one on time, one overdue.
Once: a second call changes nothing."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .models import ActionItem, AgendaItem, Employee, Meeting, OneToOne, PrivateNote, Team

DEMO_DOMAIN = "staff.example.com"
# (username or None, name, email local part, language, joined, team)
PEOPLE = (
    ("marta", "Marta Vidal", "marta", "ca", 2021, "Customer success"),
    ("amelia", "Amelia Hughes", "amelia", "en", 2022, "Customer success"),
    ("budi", "Budi Santoso", "budi", "id", 2023, "Customer success"),
    ("carles", "Carles Puig", "carles", "ca", 2022, "Customer success"),
    (None, "Nur Aisyah", "nur", "ms", 2024, "Customer success"),
    (None, "Hana Wijaya", "hana", "id", 2024, "Customer success"),
    (None, "Siti Rahman", "siti", "ms", 2020, "Support"),
    (None, "Joan Ferrer", "joan", "ca", 2023, "Support"),
    (None, "Ella Brown", "ella", "en", 2024, "Support"),
    (None, "Rizal Hakim", "rizal", "ms", 2025, "Support"),
    (None, "Dewi Lestari", "dewi", "id", 2022, "Support"),
)
LEADS = {"Customer success": "marta", "Support": "siti"}


@transaction.atomic
def team_demo_seed(*, now=None) -> bool:
    if Employee.objects.filter(email__endswith="@" + DEMO_DOMAIN).exists():
        return False
    now = now or timezone.now()
    users = {
        user.username: user for user in get_user_model().objects.filter(username__in=[p[0] for p in PEOPLE if p[0]])
    }
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in LEADS}
    staff = {}
    for username, name, local, language, year, team in PEOPLE:
        staff[local] = Employee.objects.create(
            name=name,
            email=f"{local}@{DEMO_DOMAIN}",
            language=language,
            team=teams[team],
            user=users.get(username) if username else None,
            joined_at=now.date().replace(year=year, month=3, day=1),
        )
    for team_name, lead in LEADS.items():
        teams[team_name].lead = staff[lead]
        teams[team_name].save(update_fields=["lead"])

    marta = staff["marta"]
    # Amelia: every two weeks, on time; two meetings held, an action carried, one done.
    amelia = _series(marta, staff["amelia"], 2, first=now - timedelta(weeks=4), held=2)
    held = list(amelia.meetings.filter(held_at__isnull=False).order_by("scheduled_at"))
    held[0].shared_notes = "Reviewed the quarter's renewals. Amelia will pilot the win-back call script."
    held[0].save(update_fields=["shared_notes"])
    AgendaItem.objects.create(meeting=held[0], author=staff["amelia"], text="Renewals at risk in my book")
    ActionItem.objects.create(
        one_to_one=amelia,
        raised_in=held[0],
        owner=staff["amelia"],
        text="Try the win-back script on ten customers",
        done_at=held[1].scheduled_at,
    )
    ActionItem.objects.create(
        one_to_one=amelia, raised_in=held[1], owner=marta, text="Ask finance for the refund report by customer"
    )
    PrivateNote.objects.create(meeting=held[1], author=marta, text="Amelia is ready for a bigger book next quarter.")
    PrivateNote.objects.create(meeting=held[1], author=staff["amelia"], text="Ask Marta about the team lead course.")
    upcoming = amelia.meetings.get(held_at__isnull=True)
    AgendaItem.objects.create(meeting=upcoming, author=staff["amelia"], text="Feedback on the new complaints page")
    AgendaItem.objects.create(meeting=upcoming, author=marta, text="Holiday cover in December")
    # Budi: every week, the last one not held: overdue, flagged to Marta.
    budi = _series(marta, staff["budi"], 1, first=now - timedelta(weeks=3, days=2), held=2)
    ActionItem.objects.create(
        one_to_one=budi,
        raised_in=budi.meetings.filter(held_at__isnull=False).last(),
        owner=staff["budi"],
        text="Call the three customers with overdue complaints",
    )
    # Carles: every four weeks, the first meeting next week.
    _series(marta, staff["carles"], 4, first=now + timedelta(days=6), held=0)
    return True


def _series(lead: Employee, person: Employee, every_weeks: int, *, first, held: int) -> OneToOne:
    series = OneToOne.objects.create(lead=lead, person=person, every_weeks=every_weeks)
    at = first.replace(minute=0, second=0, microsecond=0)
    for _index in range(held):
        Meeting.objects.create(one_to_one=series, scheduled_at=at, held_at=at + timedelta(minutes=30))
        at += timedelta(weeks=every_weeks)
    Meeting.objects.create(one_to_one=series, scheduled_at=at)
    return series
