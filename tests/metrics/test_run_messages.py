"""A recompute's message is stored as data and read in the reader's language (issue 13)."""

from datetime import UTC, date, datetime

import pytest
from django.utils import translation

from metrics import run_messages
from metrics.models import ModelVersion, RecomputeRun
from metrics.reasons import risk_change_reason
from metrics.services.recompute import metrics_recompute
from tests.customers.factories import CustomerFactory, OrderFactory, order_add_line

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


def test_not_enough_history_says_why_in_the_readers_language():
    # One purchase each: nobody bought twice, so the purchase model cannot be fitted.
    for customer in CustomerFactory.create_batch(3):
        order_add_line(
            OrderFactory(customer=customer, ordered_at=datetime(2024, 5, 1, 12, tzinfo=UTC)), unit_price="10"
        )

    run = metrics_recompute(as_of=date(2024, 6, 30))

    part = next(item for item in run.message_parts if item["code"] == "not_enough_history")
    assert part["params"] == {"reason": "no_repeat"}
    assert "(nobody made a repeat purchase yet)" in run.message
    with translation.override("ca"):
        assert "(encara ningú no ha tornat a comprar)" in run.message_text
    with translation.override("id"):
        assert "(belum ada yang membeli lagi)" in run.message_text


def test_a_model_versions_notes_are_parts_read_in_each_language():
    model = ModelVersion(
        as_of=date(2026, 11, 30),
        notes="(English)",
        notes_parts=[
            run_messages.part("spend_model_no_mean", q=0.8123),
            run_messages.part("spend_model_not_fitted", reason="no_repeat_spend"),
            run_messages.part("backtest_not_enough"),
        ],
    )

    assert model.notes_text.splitlines() == [
        "The spend model (Gamma-Gamma) found no average spend (q = 0.812, at most 1): predicted CLV is left empty.",
        "The spend model (Gamma-Gamma) was not fitted: no repeat buyer with a positive spend.",
        "Back-test: not enough data before the cut-off.",
    ]
    with translation.override("ca"):
        lines = model.notes_text.splitlines()
    assert "q = 0,812" in lines[0] and "cap client recurrent amb una despesa positiva" in lines[1]
    assert lines[2] == "Prova retrospectiva: no hi ha prou dades abans de la data de tall."
    # A model stored before the notes had parts shows its notes as they were written.
    assert ModelVersion(as_of=date(2026, 11, 30), notes="Old note").notes_text == "Old note"


@pytest.mark.parametrize(("language", "shown"), [("en", "80%"), ("ca", "80\xa0%"), ("id", "80%")])
def test_risk_change_reasons_format_the_percentages_for_the_reader(language, shown):
    with translation.override(language):
        sentence = risk_change_reason(before=0.35, after=0.8)
    assert shown in sentence and "35" in sentence
