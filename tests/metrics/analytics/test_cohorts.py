import numpy as np
import pandas as pd
import pytest

from metrics.analytics import cohort_retention, daily_from_orders

from .conftest import shared_data_file


def _daily(rows):
    orders = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    return daily_from_orders(orders.assign(ordered_at=pd.to_datetime(orders["ordered_at"])))


def test_cohort_matrix_matches_the_hand_worked_example():
    daily = _daily(
        [
            ("a", "2024-01-05", 10.0),  # January cohort, k = 0
            ("a", "2024-02-10", 10.0),  # k = 1
            ("a", "2024-04-01", 10.0),  # k = 3
            ("b", "2024-01-20", 10.0),  # January cohort, k = 0 only
            ("b", "2024-01-25", 10.0),
            ("c", "2024-02-03", 10.0),  # February cohort, k = 0
            ("c", "2024-03-15", 10.0),  # k = 1
            ("d", "2024-01-31", -5.0),  # a refund only: in no cohort
            ("e", "2024-02-28", 10.0),  # February cohort, k = 0 only
            ("e", "2024-02-29", 10.0),
            ("f", "2024-05-02", 10.0),  # after as_of: ignored
        ]
    )

    table = cohort_retention(daily, as_of=pd.Timestamp("2024-04-15"))

    # January (a, b): k0 2/2, k1 a = 1/2, k2 nobody = 0, k3 a = 1/2.
    # February (c, e): k0 2/2, k1 c = 1/2, k2 (April) 0, k3 (May) is after as_of: unknown.
    assert table.sizes.to_dict() == {pd.Period("2024-01", "M"): 2, pd.Period("2024-02", "M"): 2}
    np.testing.assert_allclose(table.retention.loc[pd.Period("2024-01", "M")].to_numpy(), [1.0, 0.5, 0.0, 0.5])
    np.testing.assert_allclose(table.retention.loc[pd.Period("2024-02", "M")].to_numpy(), [1.0, 0.5, 0.0, np.nan])
    assert table.active.loc[pd.Period("2024-01", "M")].tolist() == [2, 1, 0, 1]


def test_cohort_matrix_of_no_purchases_is_empty():
    daily = _daily([("d", "2024-01-31", -5.0)])

    table = cohort_retention(daily)

    assert table.retention.empty and table.sizes.empty


@pytest.mark.slow
def test_online_retail_has_4338_buyers_and_a_december_2010_cohort_of_885():
    lines = pd.read_csv(
        shared_data_file("online_retail.csv.gz"),
        usecols=["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"],
        dtype={"InvoiceNo": str},
    ).dropna(subset=["CustomerID"])
    # Each invoice is an order; a cancellation invoice ("C...") has negative quantities, so a
    # negative amount: a refund, never a purchase.
    orders = (
        lines.assign(amount=lines["Quantity"] * lines["UnitPrice"])
        .groupby("InvoiceNo", as_index=False)
        .agg(customer_id=("CustomerID", "first"), ordered_at=("InvoiceDate", "first"), amount=("amount", "sum"))
        .assign(ordered_at=lambda f: pd.to_datetime(f["ordered_at"]))
    )

    table = cohort_retention(daily_from_orders(orders))

    assert int(table.sizes.sum()) == 4338
    assert table.sizes[pd.Period("2010-12", "M")] == 885


def test_the_month_still_running_is_marked_in_each_cohort():
    from datetime import date

    from metrics.analytics.cohorts import partial_columns

    # As of 9 December, December is seen in part: k = 2 for October's cohort, 0 for December's.
    assert partial_columns(["2011-10", "2011-11", "2011-12"], as_of=date(2011, 12, 9)) == [2, 1, 0]
    # On the last day of a month that month is complete.
    assert partial_columns(["2011-10", "2011-12"], as_of=date(2011, 12, 31)) == [None, None]
    # A cohort after as_of (never in a snapshot) has no such column.
    assert partial_columns(["2012-01"], as_of=date(2011, 12, 9)) == [None]
