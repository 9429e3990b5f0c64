"""Book performance's sums of every period the picker offers, stored after each recompute.

The page shows one period at a time, and computing one means reading its days of a million
customers, every customer's first purchase and the assignment history: seconds. The nightly run
does it once for all the picker's periods (25: months, quarters and years) from one load of the
day totals, and stores each book's sums (BookSums, a few hundred rows); the page then reads the
rows of one period. A period not stored (a custom range of the API, or any period before the first
run) is computed on the spot by metrics.selectors.book_period_sums, with the same function.

The stored sums are as fresh as the run: an order imported afterwards into a past period shows
there after the next run, as on the dashboards.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.rollups import customer_rollups_drain
from metrics import conf, selectors
from metrics.analytics import book
from metrics.models import BookSums

logger = logging.getLogger(__name__)


def _rows(period: book.Period, *, window_days: int, base, books, computed_at) -> list[BookSums]:
    common = {"start": period.start, "end": period.end, "window_days": window_days, "computed_at": computed_at}
    sums = [(None, base)] + [(int(manager_id), row) for manager_id, row in books.iterrows()]
    return [
        BookSums(
            manager_id=manager_id,
            customers=int(row["customers"]),
            active_start=int(row["active_start"]),
            retained=int(row["retained"]),
            kept_revenue=float(row["kept_revenue"]),
            kept_revenue_before=float(row["kept_revenue_before"]),
            revenue=float(row["revenue"]),
            revenue_existing=float(row["revenue_existing"]),
            buyers=int(row["buyers"]),
            upsold=int(row["upsold"]),
            **common,
        )
        for manager_id, row in sums
    ]


def book_sums_refresh(*, today: date | None = None) -> int:
    """Compute the sums of every period the picker offers on ``today`` and replace the stored ones
    with them, in one transaction; returns how many periods were stored."""
    started = time.monotonic()
    today = today or timezone.localdate()
    window_days = int(conf.get("ACTIVITY_WINDOW_DAYS"))
    periods = book.picker_periods(today)
    customer_rollups_drain()  # day totals and upsell days of an import's customers still being refreshed
    last = max(period.end for period in periods)
    # One load for all the periods: every day up to the last period's end (rows by customer, then
    # day), and the first purchase and upsell days, assignments.
    daily = selectors.customer_daily_frame(as_of=last)
    inputs = {
        "customers": selectors.customer_ids(),
        "first_purchase": selectors.first_purchases(up_to=last),
        "upsell_days": selectors.customer_upsell_days(as_of=last),
        "assignments": selectors.book_assignments(),
    }
    computed_at = timezone.now()
    rows: list[BookSums] = []
    for period in periods:
        start, end = selectors.period_instants(period)
        activity = book.period_activity(daily, period=period, window_days=window_days)
        base, books = book.period_book_sums(
            period, **inputs, activity=activity, start_instant=start, end_instant=end, window_days=window_days
        )
        rows += _rows(period, window_days=window_days, base=base, books=books, computed_at=computed_at)
    try:
        with transaction.atomic():
            BookSums.objects.all().delete()
            BookSums.objects.bulk_create(rows, batch_size=1000)
    except IntegrityError:
        # A concurrent refresh (two recomputes finishing together) stored the same periods first.
        logger.info("metrics.book_sums_refresh_skipped reason=concurrent")
        return 0
    logger.info(
        "metrics.book_sums_refreshed periods=%d rows=%d seconds=%.1f",
        len(periods),
        len(rows),
        time.monotonic() - started,
    )
    return len(periods)
