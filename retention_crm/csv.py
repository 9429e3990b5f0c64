"""CSV downloads, the same in every app: safe cells, and an answer that streams when it is long.

``csv_cell`` writes ISO dates, true/false, and text that a spreadsheet would not run as a formula
(CSV injection). ``csv_response`` answers a small table built in memory (a report of a few hundred
rows); ``csv_stream`` feeds rows from a generator, so that an export of a million rows never sits
in memory.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

CONTENT_TYPE = "text/csv; charset=utf-8"
# Rows are sent in pieces of about this many characters: one write per piece rather than per row,
# and still the first bytes at once (the header goes alone).
PIECE_CHARS = 64 * 1024
# The first rows go in a smaller piece, so that a download shows rows at once rather than after
# the first 64 kB are read (about 650 order lines).
FIRST_PIECE_CHARS = 4 * 1024
# A spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """One CSV cell: ISO dates, true/false, and text that a spreadsheet would not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        # A value already starting with ' before such a character gets one more, so that the import,
        # which takes exactly one off (customers.imports.formats.FORMULA_GUARD_RE), reads back what
        # is stored.
        return "'" + value if value.lstrip("'").startswith(_FORMULA_PREFIXES) else value
    # Numbers (a refund's negative quantity included) are ours, not typed by someone: kept as they are.
    return str(value)


def dated_filename(name: str) -> str:
    """``name-YYYY-MM-DD.csv`` with today's date: an export of live data says when it was taken."""
    return f"{name}-{timezone.localdate():%Y-%m-%d}.csv"


class _Echo:
    """A file-like object whose write() hands the line back, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def _lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The header at once, then the rows in pieces of about PIECE_CHARS (the first one smaller)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    piece: list[str] = []
    size = 0
    limit = min(FIRST_PIECE_CHARS, PIECE_CHARS)
    for row in rows:
        line = writer.writerow([csv_cell(value) for value in row])
        piece.append(line)
        size += len(line)
        if size >= limit:
            yield "".join(piece)
            piece, size, limit = [], 0, PIECE_CHARS
    if piece:
        yield "".join(piece)


def _attachment(response: HttpResponse | StreamingHttpResponse, filename: str):
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_response(*, filename: str, header: Iterable[str], rows: Iterable[Iterable]) -> HttpResponse:
    """A small table as one CSV download (the whole body in memory)."""
    return _attachment(HttpResponse("".join(_lines(header, rows)), content_type=CONTENT_TYPE), filename)


def csv_stream(*, filename: str, header: Iterable[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """A CSV download written row by row as ``rows`` yields them (exports of any size)."""
    return _attachment(StreamingHttpResponse(_lines(header, rows), content_type=CONTENT_TYPE), filename)
