"""The window of dates the product accepts for things that happened (docs: README, "Dates").

Nothing a shop records happened before 1970 (the Unix epoch; the analytics count days from the
first order, so a year-1 date would make every daily series two thousand years long).
"""

from datetime import date

EARLIEST = date(1970, 1, 1)
