import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metrics.analytics import customer_summary, daily_from_orders, purchases_between, summary_from_daily

AS_OF = pd.Timestamp("2024-02-01")


def _orders(rows):
    return pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"]).assign(
        ordered_at=lambda f: pd.to_datetime(f["ordered_at"])
    )


@pytest.fixture
def orders():
    return _orders(
        [
            # c1: purchase days 01-01 (100 + 20 merged = 120), 01-11 (30), 01-31 (50); a refund
            # on 01-21; an order after as_of. purchases 3, x 2, t_x 30 d, T 31 d,
            # monetary (30 + 50) / 2 = 40, net 120 + 30 - 10 + 50 = 190.
            ("c1", "2024-01-01 10:00", 100.0),
            ("c1", "2024-01-01 15:00", 20.0),
            ("c1", "2024-01-11 09:00", 30.0),
            ("c1", "2024-01-21 09:00", -10.0),
            ("c1", "2024-01-31 23:59", 50.0),
            ("c1", "2024-02-15 09:00", 999.0),
            # c2: a refund only: purchases 0, x 0, t_x and T NaN, net -15.
            ("c2", "2024-01-20 12:00", -15.0),
            # c3: a zero-amount order and a 40 purchase the same day: one purchase, T 7 d.
            ("c3", "2024-01-25 08:00", 0.0),
            ("c3", "2024-01-25 09:00", 40.0),
            # c4: a 50 purchase and an 80 refund on one day: still a purchase day, net -30.
            ("c4", "2024-01-10 09:00", 50.0),
            ("c4", "2024-01-10 17:00", -80.0),
        ]
    )


def test_summary_merges_same_day_purchases_and_ignores_refunds_and_later_orders(orders):
    summary = customer_summary(orders, as_of=AS_OF, unit="D")

    c1 = summary.loc["c1"]

    assert c1["first_purchase"] == pd.Timestamp("2024-01-01")
    assert c1["last_purchase"] == pd.Timestamp("2024-01-31")
    assert (c1["purchases"], c1["x"]) == (3, 2)
    assert (c1["t_x"], c1["T"]) == (30.0, 31.0)
    assert c1["monetary_value"] == pytest.approx(40.0)
    assert c1["net_revenue"] == pytest.approx(190.0)


def test_summary_lists_refund_only_customers_with_zero_purchases(orders):
    summary = customer_summary(orders, as_of=AS_OF)

    c2 = summary.loc["c2"]

    assert (c2["purchases"], c2["x"], c2["monetary_value"]) == (0, 0, 0.0)
    assert np.isnan(c2["t_x"]) and np.isnan(c2["T"]) and pd.isna(c2["first_purchase"])
    assert c2["net_revenue"] == -15.0


def test_summary_counts_a_day_with_a_purchase_as_a_purchase_even_if_refunds_outweigh_it(orders):
    summary = customer_summary(orders, as_of=AS_OF)

    assert summary.loc["c3", ["purchases", "x", "t_x", "T"]].tolist() == [1, 0, 0.0, 7.0]
    assert summary.loc["c4", ["purchases", "net_revenue"]].tolist() == [1, -30.0]


def test_summary_in_weeks_divides_days_by_seven(orders):
    summary = customer_summary(orders, as_of=AS_OF, unit="W")

    c1 = summary.loc["c1"]

    assert c1["t_x"] == pytest.approx(30 / 7)
    assert c1["T"] == pytest.approx(31 / 7)


def test_summary_from_sql_shaped_daily_rows_equals_the_order_level_summary(orders):
    daily = daily_from_orders(orders)
    # As the ORM returns it: TruncDate gives datetime.date objects.
    sql_rows = daily.assign(day=[d.date() for d in daily["day"]])

    from_daily = summary_from_daily(sql_rows, as_of=AS_OF, unit="D")

    pd.testing.assert_frame_equal(from_daily, customer_summary(orders, as_of=AS_OF, unit="D"))
    assert isinstance(sql_rows["day"].iloc[0], dt.date)


def test_summary_of_no_orders_is_an_empty_table_with_the_documented_columns():
    empty = _orders([])

    summary = customer_summary(empty, as_of=AS_OF)

    assert summary.empty
    assert list(summary.columns) == [
        "first_purchase",
        "last_purchase",
        "purchases",
        "x",
        "t_x",
        "T",
        "monetary_value",
        "net_revenue",
    ]


def test_summary_rejects_a_frame_without_the_documented_columns():
    orders = pd.DataFrame({"customer": [1], "ordered_at": [AS_OF], "amount": [1.0]})

    with pytest.raises(ValueError, match="customer_id"):
        customer_summary(orders, as_of=AS_OF)


def test_purchases_between_counts_purchase_days_in_a_half_open_window(orders):
    daily = daily_from_orders(orders)

    counted = purchases_between(daily, start=pd.Timestamp("2024-01-01"), end=pd.Timestamp("2024-01-31"))

    # c1: 01-11 and 01-31 (01-01 is the open end); c3: 01-25; c4: 01-10; c2 has no purchase.
    assert counted.to_dict() == {"c1": 2, "c3": 1, "c4": 1}


def test_cdnow_calibration_has_946_repeat_buyers_among_2357_and_2457_repeat_purchases(cdnow_calibration):
    summary = cdnow_calibration

    repeat_buyers = int((summary["x"] > 0).sum())

    assert len(summary) == 2357
    assert (summary["purchases"] > 0).all()
    assert repeat_buyers == 946
    assert int(summary["x"].sum()) == 2457
    # Hardie's summary: a first purchase on 1997-01-01 has T = 38.86 weeks.
    assert summary.loc[1, "T"] == pytest.approx(38.857, abs=1e-3)
