"""The programme's admin pages read; the settings change on the settings page only (with history)."""

import pytest
from django.urls import reverse

from loyalty.selectors import programme_get
from tests.clients import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["programme", "programmechange", "referralcode", "contest", "ledgerentry"])
def test_an_administrator_reads_the_programmes_admin_lists(ada, model):
    assert client_for(ada).get(reverse(f"admin:loyalty_{model}_changelist")).status_code == 200


def test_the_settings_are_not_changed_in_the_admin(ada):
    programme_get()
    url = reverse("admin:loyalty_programme_change", args=[1])

    client_for(ada).post(url, {"name": "Hacked", "point_value": "9"})

    assert programme_get().name == "Loyalty"
