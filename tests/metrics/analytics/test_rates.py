import pandas as pd
import pytest

from metrics.analytics import daily_from_orders, period_rates, repeat_purchase_rate, upsell_rate
from metrics.analytics.rates import active_customers

START = pd.Timestamp("2024-03-01")
END = pd.Timestamp("2024-03-11")
# A 10-day window keeps the hand-worked example short: active at 03-01 = purchase in
# (02-20, 03-01]; active at 03-11 = purchase in (03-01, 03-11].
WINDOW = 10


def _daily(rows):
    orders = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    return daily_from_orders(orders.assign(ordered_at=pd.to_datetime(orders["ordered_at"])))


@pytest.fixture
def daily():
    return _daily(
        [
            ("A", "2024-02-25", 30.0),  # active at s
            ("A", "2024-02-27", -10.0),  # refund, in the period before s
            ("A", "2024-03-08", 40.0),  # active at e: retained
            ("B", "2024-02-22", 70.0),  # active at s only: churned
            ("C", "2024-02-20", 100.0),  # 02-20 is outside (02-20, 03-01]: not active at s
            ("C", "2024-03-05", 10.0),  # active at e, bought before s: reactivated
            ("D", "2024-03-03", 20.0),  # first purchase in [s, e): new, active at e
            ("E", "2024-03-11", 15.0),  # first purchase on day e: active at e, not new, not reactivated
            ("F", "2024-03-01", 25.0),  # first purchase on day s: active at s and new; not active at e
            ("G", "2024-02-28", -20.0),  # a refund only: never active
        ]
    )


def test_period_rates_match_the_hand_worked_example(daily):
    rates = period_rates(daily, start=START, end=END, window_days=WINDOW)

    # Active at s: A, B, F (3). Active at e: A, C, D, E (4). Retained: A.
    assert (rates.active_at_start, rates.active_at_end) == (3, 4)
    assert (rates.retained, rates.churned) == (1, 2)
    assert rates.retention_rate == pytest.approx(1 / 3)
    assert rates.churn_rate == pytest.approx(2 / 3)
    # New: D and F (first purchase in [03-01, 03-11)); acquisition 2 / 3 active at s.
    assert rates.new == 2
    assert rates.acquisition_rate == pytest.approx(2 / 3)
    # Reactivated: C only (D and F are new, E's first purchase is on day e).
    assert rates.reactivated == 1


def test_net_revenue_retention_compares_the_start_cohort_with_its_previous_period(daily):
    rates = period_rates(daily, start=START, end=END, window_days=WINDOW)

    # Customers active at s: A, B, F. In [03-01, 03-11): A 40 + F 25 = 65.
    # In [02-20, 03-01): A 30 - 10 + B 70 = 90 (C's 100 is not theirs). NRR = 65 / 90.
    assert rates.revenue == pytest.approx(65.0)
    assert rates.revenue_before == pytest.approx(90.0)
    assert rates.net_revenue_retention == pytest.approx(65 / 90)


def test_period_rates_on_no_data_are_none_with_zero_counts():
    empty = _daily([])

    rates = period_rates(empty, start=START, end=END)

    assert (rates.active_at_start, rates.active_at_end, rates.new, rates.reactivated) == (0, 0, 0, 0)
    assert rates.retention_rate is None
    assert rates.churn_rate is None
    assert rates.acquisition_rate is None
    assert rates.net_revenue_retention is None


def test_period_rates_without_anyone_active_at_start_count_new_customers_but_give_no_rates(daily):
    rates = period_rates(daily, start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2024-02-21"), window_days=WINDOW)

    # Nobody bought in (12-22, 01-01]; C (02-20) is new and active at 02-21.
    assert (rates.active_at_start, rates.new, rates.active_at_end) == (0, 1, 1)
    assert rates.retention_rate is None and rates.acquisition_rate is None


def test_active_customers_uses_the_default_90_day_window(daily):
    active = active_customers(daily, at=pd.Timestamp("2024-05-20"))

    # (02-20, 05-20]: everyone who bought, except C's 02-20 purchase which is outside (C bought 03-05 too).
    assert sorted(active) == ["A", "B", "C", "D", "E", "F"]


def test_repeat_purchase_rate_counts_purchase_days_up_to_the_date(daily):
    late = repeat_purchase_rate(daily, as_of=pd.Timestamp("2024-03-31"))
    early = repeat_purchase_rate(daily, as_of=pd.Timestamp("2024-03-04"))

    # By 03-31: A and C have two purchase days, of 6 buyers (G only refunded).
    assert (late.numerator, late.denominator) == (2, 6)
    assert late.value == pytest.approx(1 / 3)
    # By 03-04: A, B, C, D, F have bought once each.
    assert (early.numerator, early.denominator, early.value) == (0, 5, 0.0)


def test_repeat_purchase_rate_of_no_buyers_is_none():
    rate = repeat_purchase_rate(_daily([("G", "2024-02-28", -20.0)]), as_of=END)

    assert (rate.numerator, rate.denominator, rate.value) == (0, 0, None)


def test_upsell_rate_counts_customers_who_later_bought_a_product_missing_from_their_first_day():
    lines = pd.DataFrame(
        [
            # c1: P1 and P2 in two orders on the first day (one purchase), P2 again later: no upsell.
            ("c1", "2024-01-01 09:00", "P1", 10.0),
            ("c1", "2024-01-01 18:00", "P2", 10.0),
            ("c1", "2024-01-05 09:00", "P2", 10.0),
            # c2: P1, then P3: upsell.
            ("c2", "2024-01-01 09:00", "P1", 10.0),
            ("c2", "2024-01-03 09:00", "P3", 10.0),
            # c3: P1, then only a refund line of P2: no upsell.
            ("c3", "2024-01-01 09:00", "P1", 10.0),
            ("c3", "2024-01-02 09:00", "P2", -5.0),
            # c4: P1, then P4 after as_of: no upsell yet.
            ("c4", "2024-01-01 09:00", "P1", 10.0),
            ("c4", "2024-01-20 09:00", "P4", 10.0),
            # c5: refunds only: not a buyer.
            ("c5", "2024-01-02 09:00", "P1", -10.0),
        ],
        columns=["customer_id", "ordered_at", "product_id", "amount"],
    ).assign(ordered_at=lambda f: pd.to_datetime(f["ordered_at"]))

    rate = upsell_rate(lines, as_of=pd.Timestamp("2024-01-10"))

    # 1 upsold (c2) of 4 buyers (c1-c4).
    assert (rate.numerator, rate.denominator) == (1, 4)
    assert rate.value == pytest.approx(0.25)


def test_upsell_rate_without_lines_is_none():
    lines = pd.DataFrame({"customer_id": [], "ordered_at": pd.to_datetime([]), "product_id": [], "amount": []})

    rate = upsell_rate(lines, as_of=END)

    assert (rate.numerator, rate.denominator, rate.value) == (0, 0, None)
