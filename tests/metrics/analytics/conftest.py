"""Fixtures for the pure analytics tests: no database, only DataFrames and the shared real data."""

import os
from pathlib import Path

import pandas as pd
import pytest

from metrics.analytics import customer_summary, daily_from_orders

# FHL 2005: calibration is weeks 1-39 (1997-01-01 to 1997-09-30), holdout weeks 40-78. With
# T = (as_of - first purchase) / 7 days and as_of = 1997-09-30, a first purchase on 1997-01-01
# has T = 272 / 7 = 38.86 weeks, the value in Hardie's published summary and lifetimes.
CDNOW_CALIBRATION_END = pd.Timestamp("1997-09-30")
CDNOW_HOLDOUT_END = pd.Timestamp("1998-06-30")

# CDNOW records 8 first purchases with a dollar value of 0.00 (free CDs). The paper counts every
# transaction as a purchase; our definition needs a positive amount, so they get one cent. They
# are first purchases with no other calibration purchase, so no monetary value (which excludes
# the first purchase) changes.
CDNOW_FREE_CD_AMOUNT = 0.01


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def shared_data_dir() -> Path:
    """RETENTION_SHARED_DATA, or the `shared/data` folder beside the repository."""
    configured = os.environ.get("RETENTION_SHARED_DATA")
    return Path(configured) if configured else repo_root().parent / "shared" / "data"


def shared_data_file(name: str) -> Path:
    path = shared_data_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; set RETENTION_SHARED_DATA to the shared data folder")
    return path


@pytest.fixture(scope="session")
def cdnow_orders() -> pd.DataFrame:
    """The raw CDNOW 1/10 sample as orders: customer_id (1-2357), ordered_at, amount."""
    raw = pd.read_csv(
        shared_data_file("cdnow_sample.txt"),
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "dollars"],
        dtype={"date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "ordered_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["dollars"].where(raw["dollars"] > 0, CDNOW_FREE_CD_AMOUNT).astype(float),
        }
    )


@pytest.fixture(scope="session")
def cdnow_daily(cdnow_orders) -> pd.DataFrame:
    return daily_from_orders(cdnow_orders)


@pytest.fixture(scope="session")
def cdnow_calibration(cdnow_orders) -> pd.DataFrame:
    """Per-customer summary in weeks at the end of the calibration period."""
    return customer_summary(cdnow_orders, as_of=CDNOW_CALIBRATION_END, unit="W")
