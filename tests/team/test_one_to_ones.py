"""One-to-ones: planned from the schedule, a shared agenda, notes private to their author, action
items carried until done, overdue ones flagged to the lead; and every other persona (another
employee, another lead, an administrator) kept away from them, private notes above all: through
every view and the Django admin."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from team import selectors, services
from team.models import ActionItem, Meeting, OneToOne
from tests.clients import client_for

pytestmark = pytest.mark.django_db

LENAS_SECRET = "Lena-private: Paul may be looking for another job"
PAULS_SECRET = "Paul-private: I am thinking of moving teams"


def url(name, series, *args):
    return reverse(f"team:{name}", args=[series.pk, *args])


def test_the_next_meeting_follows_the_schedule_and_actions_are_carried(people, series):
    lena, paul = people["lena"], people["paul"]
    first = selectors.meeting_pending(series)
    services.agenda_add(meeting=first, author=paul, text="My goals")
    action = services.action_add(meeting=first, by=lena, owner=paul, text="Write the goals down")

    second = services.meeting_hold(meeting=first, by=lena)

    assert second.scheduled_at == first.scheduled_at + timedelta(weeks=2)
    assert list(selectors.action_items_open(series)) == [action]  # carried to the next meeting
    services.action_set_done(action=action, by=paul)
    assert not selectors.action_items_open(series).exists()
    with pytest.raises(ValidationError):
        services.meeting_hold(meeting=first, by=lena)


def test_a_meeting_held_late_plans_the_next_in_the_future_on_the_same_cadence():
    planned = timezone.now() - timedelta(days=20)
    upcoming = services.next_meeting_time(scheduled_at=planned, every_weeks=1)
    assert upcoming > timezone.now() and (upcoming - planned) % timedelta(weeks=1) == timedelta(0)


def test_a_lead_plans_one_to_ones_only_with_their_own_team(people, series):
    with pytest.raises(ValidationError, match="team you lead"):
        services.one_to_one_start(lead=people["lena"], person=people["olga"], every_weeks=1, first_at=timezone.now())
    with pytest.raises(ValidationError, match="already have"):
        services.one_to_one_start(lead=people["lena"], person=people["paul"], every_weeks=1, first_at=timezone.now())
    with pytest.raises(ValidationError, match="1, 2 or 4"):
        services.one_to_one_start(lead=people["lena"], person=people["eve"], every_weeks=3, first_at=timezone.now())


def test_the_two_use_the_page_through_the_browser(people, series):
    lena, paul = client_for(people["lena"].user), client_for(people["paul"].user)

    assert paul.post(url("agenda_add", series), {"text": "<b>Training</b>"}).status_code == 302
    assert (
        lena.post(url("action_add", series), {"text": "Book the course", "owner": people["paul"].pk}).status_code == 302
    )
    assert lena.post(url("shared_notes", series), {"text": "We agreed on a course."}).status_code == 302
    assert lena.post(url("private_note", series), {"text": LENAS_SECRET}).status_code == 302
    assert paul.post(url("private_note", series), {"text": PAULS_SECRET}).status_code == 302

    lenas_page = lena.get(url("one_to_one", series)).content.decode()
    pauls_page = paul.get(url("one_to_one", series)).content.decode()
    for page in (lenas_page, pauls_page):
        assert "&lt;b&gt;Training&lt;/b&gt;" in page and "Book the course" in page and "We agreed on a course." in page
    assert LENAS_SECRET in lenas_page and PAULS_SECRET not in lenas_page
    assert PAULS_SECRET in pauls_page and LENAS_SECRET not in pauls_page

    # Held: the notes move to the earlier meetings, still private to each.
    assert lena.post(url("meeting_hold", series)).status_code == 302
    lenas_page = lena.get(url("one_to_one", series)).content.decode()
    assert LENAS_SECRET in lenas_page and PAULS_SECRET not in lenas_page
    assert "Book the course" in lenas_page  # the open action item is carried

    # An empty action is refused with a message, never a 500.
    response = lena.post(url("action_add", series), {"text": "", "owner": people["paul"].pk})
    assert response.status_code == 400


def test_notes_too_long_are_refused_with_the_reason_and_the_saved_ones_kept(people, series):
    lena = client_for(people["lena"].user)
    assert lena.post(url("shared_notes", series), {"text": "We agreed on a course."}).status_code == 302

    response = lena.post(url("shared_notes", series), {"text": "x" * 20_001}, follow=True)

    page = response.content.decode()
    assert "at most 20000 characters" in page
    assert "We agreed on a course." in page and "x" * 20_001 not in page


def test_every_other_persona_reaches_nothing_of_the_one_to_one(people, series):
    lena_client = client_for(people["lena"].user)
    lena_client.post(url("private_note", series), {"text": LENAS_SECRET})
    client_for(people["paul"].user).post(url("private_note", series), {"text": PAULS_SECRET})
    meeting = selectors.meeting_pending(series)
    action = services.action_add(meeting=meeting, by=people["lena"], owner=people["paul"], text="Secret action")
    item = services.agenda_add(meeting=meeting, author=people["lena"], text="Topic")

    for persona in ("eve", "olga", "ada"):
        user = people[persona].user if persona != "ada" else people["ada"]
        client = client_for(user)
        assert client.get(url("one_to_one", series)).status_code == 404, persona
        posts = [
            url("agenda_add", series),
            url("agenda_remove", series, item.pk),
            url("shared_notes", series),
            url("private_note", series),
            url("action_add", series),
            url("action_done", series, action.pk),
            url("meeting_hold", series),
            url("meeting_reschedule", series),
            url("end", series),
        ]
        for target in posts:
            assert client.post(target, {"text": "x", "owner": people["paul"].pk}).status_code == 404, (persona, target)
        listing = client.get(reverse("team:one_to_ones")).content.decode()
        assert LENAS_SECRET not in listing and PAULS_SECRET not in listing

    # The administrator's pages and the Django admin: no private note anywhere.
    admin = client_for(people["ada"])
    pages = [
        reverse("team:employees"),
        reverse("team:employee_edit", args=[people["lena"].pk]),
        reverse("admin:team_onetoone_changelist"),
        reverse("admin:team_onetoone_change", args=[series.pk]),
        reverse("admin:team_meeting_changelist"),
        reverse("admin:team_meeting_change", args=[meeting.pk]),
        reverse("admin:team_actionitem_changelist"),
        reverse("admin:team_employee_change", args=[people["lena"].pk]),
        reverse("admin:index"),
    ]
    for page in pages:
        response = admin.get(page)
        assert response.status_code == 200, page
        body = response.content.decode()
        assert LENAS_SECRET not in body and PAULS_SECRET not in body, page
    assert admin.get("/admin/team/privatenote/").status_code == 404
    # The other's state is untouched.
    assert ActionItem.objects.get(pk=action.pk).done_at is None
    assert OneToOne.objects.get(pk=series.pk).ended_at is None


def test_an_overdue_one_to_one_is_flagged_to_its_lead_only(people, series):
    Meeting.objects.filter(one_to_one=series).update(scheduled_at=timezone.now() - timedelta(days=3))

    lenas_home = client_for(people["lena"].user).get(reverse("team:one_to_ones")).content.decode()
    assert "overdue" in lenas_home and 'title="Overdue one-to-ones you lead">1' in lenas_home
    pauls_home = client_for(people["paul"].user).get(reverse("team:one_to_ones")).content.decode()
    assert "Overdue one-to-ones you lead" not in pauls_home

    client_for(people["lena"].user).post(url("meeting_hold", series))
    assert selectors.overdue_meetings_for_lead(people["lena"]).count() == 0


def test_someone_without_a_role_lands_on_their_one_to_ones(people):
    response = client_for(people["paul"].user).get("/")
    assert response.status_code == 302 and response["Location"] == reverse("team:one_to_ones")


def test_a_lead_plans_from_the_page(people):
    client = client_for(people["lena"].user)
    first_at = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        reverse("team:one_to_ones"), {"person": people["eve"].pk, "every_weeks": 4, "first_at": first_at}
    )
    assert response.status_code == 302
    assert OneToOne.objects.get(person=people["eve"]).every_weeks == 4
    # Someone not in the lead's team is not offered (and refused).
    response = client.post(
        reverse("team:one_to_ones"), {"person": people["olga"].pk, "every_weeks": 1, "first_at": first_at}
    )
    assert response.status_code == 200 and not OneToOne.objects.filter(person=people["olga"]).exists()
