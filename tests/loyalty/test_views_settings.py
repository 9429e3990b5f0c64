"""The programme's settings page: marketers and administrators change the settings, checked, and
the history says who changed what when; anyone else gets a 404."""

from decimal import Decimal

import pytest
from django.urls import reverse

from loyalty import programme
from loyalty.models import Programme, ProgrammeChange
from loyalty.selectors import programme_get
from tests.clients import client_for

pytestmark = pytest.mark.django_db

URL = reverse("loyalty:settings")


def _form(**changes) -> dict:
    current = programme_get()
    data = {field: getattr(current, field) for field in programme.PROGRAMME_SETTINGS}
    data.update(changes)
    return {key: "" if value is None else value for key, value in data.items()}


def test_a_marketer_changes_settings_and_the_history_names_them(marta):
    answer = client_for(marta).post(
        URL,
        _form(point_value="0.05", referral_reward_points=200, referral_wait_days=14, birthday_bonus_points=75),
        follow=True,
    )

    saved = Programme.objects.get(pk=1)
    assert answer.status_code == 200 and "saved" in answer.content.decode()
    assert (saved.point_value, saved.referral_reward_points, saved.referral_wait_days) == (Decimal("0.05"), 200, 14)
    assert saved.birthday_bonus_points == 75
    changes = {c.field: (c.old_value, c.new_value, c.changed_by) for c in ProgrammeChange.objects.all()}
    assert changes == {
        "point_value": ("0.0100", "0.0500", marta),
        "referral_reward_points": ("0", "200", marta),
        "referral_wait_days": ("30", "14", marta),
        "birthday_bonus_points": ("0", "75", marta),
    }
    page = client_for(marta).get(URL).content.decode()
    assert "0.0100 → 0.0500" in page and "marta" in page


def test_saving_unchanged_settings_records_nothing(ada):
    answer = client_for(ada).post(URL, _form(), follow=True)

    assert answer.status_code == 200 and "Nothing was changed" in answer.content.decode()
    assert not ProgrammeChange.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"point_value": "-1"}, "point_value", "between 0 and"),
        ({"expiry_days": "0"}, "expiry_days", "1 to 3650 days"),
        ({"expiry_days": "30", "reminder_days": "30"}, "reminder_days", "before the points expire"),
        ({"referral_wait_days": "0"}, "referral_wait_days", "between 1 and 365"),
        ({"birthday_bonus_points": "2000000"}, "birthday_bonus_points", "Between 0 and"),
        ({"shop_url": "ftp://shop.example"}, "shop_url", "https://"),
        ({"name": "  "}, "name", ""),
    ],
)
def test_bad_settings_are_refused_beside_their_field_and_nothing_changes(marta, changes, field, reason):
    answer = client_for(marta).post(URL, _form(**changes))

    assert answer.status_code == 200
    errors = answer.context["form"].errors
    assert field in errors and reason in " ".join(errors[field])
    assert not ProgrammeChange.objects.exists()
    assert programme_get().point_value == Decimal("0.0100")


def test_the_service_refuses_an_unknown_setting(marta):
    with pytest.raises(Exception, match="Unknown settings: id"):
        programme.programme_settings_update(changes={"id": 2}, user=marta)


def test_only_marketers_and_administrators_see_the_settings(alice, charlie):
    for user in (alice, charlie):
        assert client_for(user).get(URL).status_code == 404
        assert client_for(user).post(URL, _form(point_value="9")).status_code == 404
    assert programme_get().point_value == Decimal("0.0100")
