"""A recompute's message is stored as data and read in the reader's language (issue 13)."""

from datetime import date

import pytest
from django.utils import translation

from metrics import run_messages
from metrics.models import RecomputeRun
from metrics.services.recompute import metrics_recompute
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_the_summary_is_stored_as_parts_and_read_in_each_language():
    CustomerFactory.create_batch(3)

    run = metrics_recompute(as_of=date(2024, 6, 30))

    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert run.message_parts == [{"code": "no_purchases", "params": {"as_of": "2024-06-30", "customers": 3}}]
    assert run.message == "No purchases up to 30 Jun 2024: 3 customers were saved without figures."
    with translation.override("ca"):
        assert run.message_text == "No hi ha compres fins al 30 de juny 2024: s'han desat 3 clients sense xifres."
    with translation.override("id"):
        assert "30 Jun 2024" in run.message_text and "No purchases" not in run.message_text


@pytest.mark.parametrize("language", ["en", "id", "ms", "ca"])
def test_every_message_renders_in_every_language_with_its_numbers_formatted(language):
    parts = [
        run_messages.part("buyers", buyers=12345, customers=20000, as_of="2026-07-31"),
        run_messages.part("fit_seconds", seconds=2.25),
        run_messages.part("predictions_missing", count=1200),
    ] + [
        run_messages.part(code)
        for code in (
            "loading",
            "fitting",
            "scoring",
            "no_customers",
            "no_spend_model",
            "failed",
            "worker_lost",
            "scoring_failed",
            "saving_failed",
        )
    ]

    with translation.override(language):
        text = run_messages.render(parts)
        number = "12.345" if language in ("id", "ca") else "12,345"

    assert number in text and "2026-07-31" not in text and "%(" not in text
    if language != "en":
        assert "have a purchase" not in text and "Fitting the purchase model" not in text


def test_a_part_with_an_unknown_code_is_refused_where_it_is_written():
    with pytest.raises(KeyError):
        run_messages.part("no_such_message")


def test_a_run_from_before_the_parts_shows_its_stored_message():
    run = RecomputeRun(as_of=date(2024, 6, 30), message="Old English sentence.")

    assert run.message_text == "Old English sentence."
