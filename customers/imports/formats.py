"""File formats: from a file to clean rows and row errors, one chunk at a time.

Each format reads its file in chunks of CHUNK_ROWS rows with pandas, validates every column
with vectorised checks, and hands the writer two kinds of rows:

- ``customers``: external_id, name and the other customer columns present in the file;
- ``lines``: one row per order line: order_ext, customer_ext, ordered_at (UTC, to the microsecond),
  currency, kind, status, sku, product_name, category, quantity, unit_price, amount.

Every bad field of a row becomes a ``RowError`` (line, column, reason with the value read) and the
row is left out; a file that is not what its format says (not text, not UTF-8, wrong columns)
raises ``FileRefused`` before anything is written. Line numbers count the header as line 1, as a
spreadsheet shows them.

CSV files may be separated by commas, semicolons (the default of spreadsheets in locales with a
decimal comma, which then comes too) or tabs: the separator is the one under which the header
names the most columns of the format.
"""

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.utils.translation import gettext as _

from retention_crm import dates

# 100k rows is ~30-60 MB of pandas memory for the widest format: large enough that per-chunk
# overhead (a COPY, a progress update) is negligible, small enough for a 512 MB worker.
CHUNK_ROWS = 100_000

GZIP_MAGIC = b"\x1f\x8b"
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
LANGUAGES = {code for code, _name in settings.LANGUAGES}
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"", "0", "false", "no", "n", "f"}
MAX_AMOUNT = 10**11  # fits NUMERIC(14, 2) with room to spare
# The stored amount of a line is NUMERIC(14, 2); a larger product of quantity and price cannot be kept.
MAX_LINE_AMOUNT = 10**12
SEPARATORS = (",", ";", "\t")
# Enough of a bad value to recognise it in the file, within the reason's 255 characters.
SHOWN_VALUE_CHARS = 40
REASON_MAX_CHARS = 255
# Our exports put a ' before a value a spreadsheet would run as a formula (customers.views.csv_cell),
# also before a value that already starts with ' and then such a character, so that taking exactly
# one ' off such values on the way back in gives the stored value.
FORMULA_GUARD_RE = r"^'(?='*[=+\-@\t\r])"
# The end of an ISO 8601 time with an offset: "…11:00:00Z", "…11:00+07:00", "…11:00:00.25 -0500".
ISO_OFFSET_RE = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
# A number written with a decimal comma, thousands grouped with dots or not: "5,50", "1.234,50".
DECIMAL_COMMA_RE = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d*),\d+"
# Characters that would make a shown value lie about what is in the file (bidi overrides, zero widths).
INVISIBLE_RE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


class FileRefused(Exception):
    """The file as a whole is not importable; nothing of it is written."""


@dataclass
class RowError:
    line: int
    column: str
    reason: str


def shown_value(value, limit: int = SHOWN_VALUE_CHARS) -> str:
    """A value of the file as a report shows it: quoted, cut after ``limit`` characters, with control
    and invisible characters escaped, so that a line break or a bidi override cannot disguise it.
    HTML and CSV escaping are left to the page and the report writer."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    quoted = json.dumps(text, ensure_ascii=False)
    return INVISIBLE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def reason_with_value(reason: str, value) -> str:
    """The reason, then the value read, cut shorter when both would not fit the stored reason."""
    if value is None or not str(value).strip():
        return reason
    full = _("%(reason)s (read: %(value)s)") % {"reason": reason, "value": shown_value(value)}
    if len(full) > REASON_MAX_CHARS:
        limit = max(SHOWN_VALUE_CHARS - (len(full) - REASON_MAX_CHARS), 8)
        full = _("%(reason)s (read: %(value)s)") % {"reason": reason, "value": shown_value(value, limit)}
    return full


@dataclass
class Chunk:
    customers: pd.DataFrame | None = None
    lines: pd.DataFrame | None = None
    errors: list[RowError] = field(default_factory=list)
    rows_read: int = 0
    rows_skipped: int = 0
    skipped_reason: str = ""
    # Orders with a bad line: the writer leaves the whole order out, never half of it.
    bad_orders: set[str] = field(default_factory=set)


class ByteCounter(io.RawIOBase):
    """Wraps a binary file and remembers how many bytes of it were read, for the progress bar."""

    def __init__(self, raw):
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


def open_text(path: Path, counter: ByteCounter | None = None) -> io.TextIOBase:
    """Open a plain or gzip file as UTF-8 text, refusing binary and non-UTF-8 files.

    The whole stream is checked as it is read (``CheckedStream``): a NUL byte anywhere, or a gzip
    file that expands beyond ``IMPORT_MAX_DECOMPRESSED_BYTES`` or at the ratio of a bomb, raises
    ``FileRefused`` from the read that meets it, so the import fails before anything is written.
    """
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the text wrapper
    head = raw.read(4)
    raw.seek(0)
    counter = counter if counter is not None else ByteCounter(None)
    counter.raw = raw
    gzipped = head[:2] == GZIP_MAGIC
    source = gzip.GzipFile(fileobj=counter) if gzipped else counter
    binary = io.BufferedReader(CheckedStream(source, compressed=counter if gzipped else None), 65536)
    try:
        sample = binary.peek(65536)[:65536]
    except FileRefused:
        raw.close()
        raise
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample.removeprefix(codecs.BOM_UTF8), final=False)
    except UnicodeDecodeError as exc:
        raw.close()
        raise FileRefused(
            _("The file is not UTF-8 text (an invalid byte at position %(pos)d). Save it as 'CSV UTF-8' and try again.")
            % {"pos": exc.start}
        ) from None
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")


# Real CSV compresses 5-10:1 (the Online Retail file 6.3:1); only filler repeated on purpose
# reaches 100:1. The ratio is judged once this much has come out, because the gzip header and a
# first short line make any small file look extreme, and this much costs any worker nothing.
GZIP_MAX_RATIO = 100
GZIP_RATIO_AFTER_BYTES = 16 * 1024 * 1024


class CheckedStream(io.RawIOBase):
    """The file's bytes as they stream out (decompressed, for gzip), checked before anyone parses them.

    ``compressed`` counts the bytes read from a gzip file on disk; None for a plain file.
    """

    def __init__(self, source, *, compressed: ByteCounter | None):
        self.source = source
        self.compressed = compressed
        self.count = 0
        self.limit = settings.IMPORT_MAX_DECOMPRESSED_BYTES

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self.source.read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:
            raise FileRefused(_("The file could not be read as gzip: %(error)s.") % {"error": exc}) from None
        if b"\x00" in data:
            raise FileRefused(_("This is not a text file (it contains binary data). Export the data as CSV."))
        self.count += len(data)
        if self.compressed is not None:
            self._check_expansion()
        buffer[: len(data)] = data
        return len(data)

    def _check_expansion(self) -> None:
        too_big = self.count > self.limit
        bomb = self.count > GZIP_RATIO_AFTER_BYTES and self.count > GZIP_MAX_RATIO * max(self.compressed.count, 1)
        if too_big or bomb:
            raise FileRefused(
                _(
                    "The compressed file expands to more than %(limit)d MB (or %(ratio)d times its size); "
                    "import it uncompressed with manage.py import_data, or in parts."
                )
                % {"limit": self.limit // 1_048_576, "ratio": GZIP_MAX_RATIO}
            )


def _check_columns(found: list[str], required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    found_set = set(found)
    missing = [c for c in required if c not in found_set]
    unknown = [c for c in found if c not in required and c not in optional]
    duplicated = sorted({c for c in found if found.count(c) > 1})
    problems = []
    if missing:
        problems.append(_("missing columns: %(cols)s") % {"cols": ", ".join(missing)})
    if unknown:
        problems.append(_("unknown columns: %(cols)s") % {"cols": ", ".join(unknown)})
    if duplicated:
        problems.append(_("repeated columns: %(cols)s") % {"cols": ", ".join(duplicated)})
    if problems:
        raise FileRefused(
            _("The columns are not those of this format (%(problems)s). Expected: %(expected)s.")
            % {"problems": "; ".join(problems), "expected": ", ".join(required + optional)}
        )


def _header_fields(header: str, separator: str) -> list[str]:
    return [field.strip() for field in next(csv.reader([header], delimiter=separator), [])]


def _sniff_separator(header: str, columns: tuple[str, ...]) -> str:
    """The separator under which the header names the most columns of the format; a comma on a tie."""
    expected = set(columns)
    return max(SEPARATORS, key=lambda separator: len(expected.intersection(_header_fields(header, separator))))


class _Rewound(io.TextIOBase):
    """The text of a file whose first line was already read to sniff it, from its beginning again."""

    def __init__(self, head: str, rest):
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        if not self.head:
            return self.rest.read(size)
        if size is None or size < 0:
            text, self.head = self.head + self.rest.read(), ""
            return text
        text, self.head = self.head[:size], self.head[size:]
        return text


@dataclass
class CsvFrame:
    """One chunk of a CSV file: its cells stripped (and unguarded), and whether numbers use a decimal comma."""

    frame: pd.DataFrame
    decimal_comma: bool


def _read_csv_chunks(text, *, required, optional, unguard: bool = False) -> Iterator[CsvFrame]:
    """The file in chunks of CHUNK_ROWS rows, every cell a string without surrounding spaces.

    ``unguard``: the file may be one of our exports, whose cells that a spreadsheet would run as a
    formula carry a leading ' (FORMULA_GUARD_RE); it is taken off again.
    """
    try:
        header = text.readline()
        separator = _sniff_separator(header, required + optional)
        reader = pd.read_csv(
            _Rewound(header, text),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            chunksize=CHUNK_ROWS,
            skipinitialspace=False,
        )
        first = True
        next_line = 2
        for frame in reader:
            if first:
                columns = [str(c).strip() for c in frame.columns]
                _check_columns(columns, required, optional)
                first = False
            frame.columns = [str(c).strip() for c in frame.columns]
            for column in frame.columns:
                # Strip first, then unguard: a guarded tab ("'\tx") keeps its tab.
                frame[column] = frame[column].str.strip()
                if unguard:
                    frame[column] = frame[column].str.replace(FORMULA_GUARD_RE, "", n=1, regex=True)
            frame.insert(0, "_line", np.arange(next_line, next_line + len(frame)))
            next_line += len(frame)
            yield CsvFrame(frame, decimal_comma=separator == ";")
        if first or next_line == 2:
            raise FileRefused(_("The file has a header but no rows."))
    except pd.errors.EmptyDataError:
        raise FileRefused(_("The file is empty.")) from None
    except pd.errors.ParserError as exc:
        raise FileRefused(_("The file is not valid CSV: %(error)s") % {"error": str(exc).strip()}) from None
    except UnicodeDecodeError as exc:
        raise FileRefused(
            _("The file is not UTF-8 text (an invalid byte at position %(pos)d). Save it as 'CSV UTF-8' and try again.")
            % {"pos": exc.start}
        ) from None


class Validator:
    """Collects the errors of one chunk, every bad field of a row with the value read, and tracks
    which rows are still good. A field gets one error: the first check it fails."""

    def __init__(self, frame: pd.DataFrame, *, decimal_comma: bool = False):
        self.frame = frame
        self.decimal_comma = decimal_comma
        self.lines = frame["_line"].to_numpy()
        self.good = np.ones(len(frame), dtype=bool)
        self.bad_fields: dict[str, np.ndarray] = {}
        self.errors: list[RowError] = []

    def reject(self, bad, column: str, reason: str, *, unless: tuple[str, ...] = ()) -> None:
        """Report the rows in ``bad`` for ``column``, unless that field, or one of the fields
        ``unless`` names (those the check is derived from), is already reported."""
        bad = np.asarray(bad, dtype=bool).copy()
        for name in (column, *unless):
            if name in self.bad_fields:
                bad &= ~self.bad_fields[name]
        if not bad.any():
            return
        self.bad_fields[column] = self.bad_fields.get(column, np.zeros(len(bad), dtype=bool)) | bad
        self.good &= ~bad
        values = self.frame[column].to_numpy()[bad] if column in self.frame else [None] * int(bad.sum())
        self.errors.extend(
            RowError(int(line), column, reason_with_value(reason, value))
            for line, value in zip(self.lines[bad], values, strict=True)
        )

    def required(self, column: str) -> pd.Series:
        values = self.frame[column]
        self.reject(values.eq("").to_numpy(), column, _("%(column)s is required") % {"column": column})
        return values

    def max_length(self, values: pd.Series, column: str, limit: int) -> None:
        self.reject(
            values.str.len().gt(limit).to_numpy(),
            column,
            _("%(column)s is longer than %(limit)d characters") % {"column": column, "limit": limit},
        )

    def number(self, column: str, *, integer: bool = False, required: bool = True) -> pd.Series:
        """The column as numbers; an empty cell is an error, or 0 when not ``required``."""
        raw = self.frame[column]
        if self.decimal_comma:
            raw = _decimal_comma_to_point(raw)
        values = pd.to_numeric(raw, errors="coerce")
        what = _("a whole number") if integer else _("a number")
        bad = values.isna().to_numpy() | ~np.isfinite(values.fillna(0).to_numpy(dtype=float))
        if integer:
            bad |= values.fillna(0).mod(1).ne(0).to_numpy()
        bad |= values.abs().gt(MAX_AMOUNT).fillna(False).to_numpy()
        if not required:
            bad &= raw.ne("").to_numpy()
        self.reject(bad, column, _("%(column)s must be %(what)s") % {"column": column, "what": what})
        return values.fillna(0)

    def in_window(self, values: pd.Series, column: str, kind: str = dates.HAPPENED) -> None:
        """Refuse the dates outside retention_crm.dates' window of ``kind``, in its words."""
        self.reject(dates.outside(values, kind), column, dates.message(kind, field=column))

    def timestamp(
        self, column: str, *, fmt: str | None, tz: str, required: bool = True, window: str = dates.HAPPENED
    ) -> pd.Series:
        """The column as UTC timestamps; a value that is not one, or is outside the ``window`` of
        retention_crm.dates (every timestamp a file holds is of something that happened), is refused."""
        raw = self.frame[column]
        if fmt:
            parsed = pd.to_datetime(raw, format=fmt, errors="coerce")
            parsed = parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
            reason = _("%(column)s is not a valid date and time (use YYYY-MM-DD HH:MM:SS)") % {"column": column}
        else:
            parsed = _parse_iso(raw, tz=tz)
            reason = _(
                "%(column)s is not a valid date and time (use YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS, "
                "optionally with .250 and an offset such as +07:00 or Z; without one it is in %(time_zone)s)"
            ) % {"column": column, "time_zone": tz}
        bad = parsed.isna().to_numpy(copy=True)
        if not required:
            bad = bad & raw.ne("").to_numpy()
        self.reject(bad, column, reason)
        self.in_window(parsed, column, window)
        return parsed


def _decimal_comma_to_point(raw: pd.Series) -> pd.Series:
    """``5,50`` and ``1.234,50`` as ``5.50`` and ``1234.50``; anything else as it is."""
    comma = raw.str.fullmatch(DECIMAL_COMMA_RE).fillna(False).to_numpy(dtype=bool)
    if not comma.any():
        return raw
    converted = raw.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return raw.where(~comma, converted)


def _parse_iso(raw: pd.Series, *, tz: str) -> pd.Series:
    """Each value on its own terms, vectorised: with an offset (Z, +07:00) at that offset, without one
    as a wall-clock time in ``tz``. A column may mix both, and several offsets. Returns UTC."""
    text = raw.str.upper()
    with_offset = text.str.contains(ISO_OFFSET_RE, regex=True).fillna(False).to_numpy(dtype=bool)
    # utc=True reads an offset where there is one and takes the others as UTC wall clocks...
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if with_offset.all():
        return parsed
    # ...which are then put back in their own time zone.
    local = parsed.dt.tz_localize(None).dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    return parsed.where(with_offset, local.dt.tz_convert("UTC"))


def _as_db_timestamp(values: pd.Series) -> pd.Series:
    """UTC text the database reads back exactly: microseconds are the finest grain a timestamp keeps,
    written only when there are some, as Django writes them, so that a file exported and imported
    again compares equal to what is stored (SQLite compares the text)."""
    seconds = values.dt.strftime("%Y-%m-%d %H:%M:%S")
    fraction = values.dt.strftime(".%f").where(values.dt.microsecond.ne(0), "")
    return seconds + fraction + "+00:00"


def _line_amounts(quantity: pd.Series, unit_price: pd.Series) -> pd.Series:
    """quantity x unit_price to the cent, rounded half to even as ``Decimal.quantize`` does in
    customers.services, in whole ten-thousandths so that no float error moves a cent."""
    price = np.round(unit_price.to_numpy(dtype=float) * 10_000).astype("int64")
    exact = quantity.to_numpy(dtype="int64") * price  # ten-thousandths; < 2^63 within MAX_LINE_AMOUNT
    cents, rest = np.divmod(exact, 100)
    cents += (rest > 50) | ((rest == 50) & (cents % 2 == 1))
    return pd.Series(cents / 100, index=quantity.index)


def _reject_line_amounts_too_large(v: Validator, quantity, unit_price, *, columns: tuple[str, str]) -> None:
    too_large = (quantity.abs() * unit_price.abs()).ge(MAX_LINE_AMOUNT).to_numpy()
    v.reject(
        too_large,
        columns[0],
        _("%(quantity)s x %(unit_price)s is more than an order line can hold")
        % {"quantity": columns[0], "unit_price": columns[1]},
        unless=columns,
    )


def _order_lines_frame(v: Validator, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({"line": v.lines, **columns})
    return frame.loc[v.good].reset_index(drop=True)


# --- Customers CSV ---------------------------------------------------------------------------------

CUSTOMER_REQUIRED = ("external_id", "name")
CUSTOMER_OPTIONAL = (
    "email", "phone", "company", "country", "language", "time_zone", "account_manager", "acquired_at",
    "acquisition_source", "referred_by", "tags", "marketing_consent", "consent_at", "consent_source", "notes",
    "birth_date",
)  # fmt: skip
CUSTOMER_LIMITS = {
    "external_id": 64, "name": 200, "email": 254, "phone": 40, "company": 200, "country": 64, "time_zone": 64,
    "account_manager": 150, "acquisition_source": 64, "referred_by": 64, "consent_source": 20,
}  # fmt: skip
CONSENT_SOURCES = {"web_form", "checkout", "email", "phone", "in_person", "import", "api"}


def customers_csv_chunks(text) -> Iterator[Chunk]:
    for csv_frame in _read_csv_chunks(text, required=CUSTOMER_REQUIRED, optional=CUSTOMER_OPTIONAL, unguard=True):
        frame = csv_frame.frame
        v = Validator(frame)
        out = {"line": v.lines}
        out["external_id"] = v.required("external_id")
        out["name"] = v.required("name")
        for column in CUSTOMER_OPTIONAL:
            if column in frame:
                out[column] = frame[column]
        for column, limit in CUSTOMER_LIMITS.items():
            if column in out:
                v.max_length(out[column], column, limit)
        if "email" in out:
            bad = out["email"].ne("") & ~out["email"].str.match(EMAIL_RE)
            v.reject(bad.to_numpy(), "email", _("email is not a valid email address"))
        if "language" in out:
            out["language"] = out["language"].str.lower()
            bad = out["language"].ne("") & ~out["language"].isin(LANGUAGES)
            v.reject(
                bad.to_numpy(),
                "language",
                _("language must be one of %(codes)s") % {"codes": ", ".join(sorted(LANGUAGES))},
            )
        if "acquired_at" in out:
            parsed = pd.to_datetime(out["acquired_at"], format="%Y-%m-%d", errors="coerce")
            v.reject(
                (parsed.isna() & out["acquired_at"].ne("")).to_numpy(),
                "acquired_at",
                _("acquired_at is not a valid date (use YYYY-MM-DD)"),
            )
            v.in_window(parsed, "acquired_at")
            out["acquired_at"] = parsed.dt.strftime("%Y-%m-%d").fillna("")
        if "birth_date" in out:
            parsed = pd.to_datetime(out["birth_date"], format="%Y-%m-%d", errors="coerce")
            v.reject(
                (parsed.isna() & out["birth_date"].ne("")).to_numpy(),
                "birth_date",
                _("birth_date is not a valid date (use YYYY-MM-DD)"),
            )
            v.in_window(parsed, "birth_date", dates.BORN)
            out["birth_date"] = parsed.dt.strftime("%Y-%m-%d").fillna("")
        if "marketing_consent" in out:
            words = out["marketing_consent"].str.lower()
            v.reject(
                (~words.isin(TRUE_WORDS | FALSE_WORDS)).to_numpy(),
                "marketing_consent",
                _("marketing_consent must be true or false"),
            )
            out["marketing_consent"] = words.isin(TRUE_WORDS)
        if "consent_at" in out:
            consent_at = v.timestamp("consent_at", fmt=None, tz="UTC", required=False)
            out["consent_at"] = _as_db_timestamp(consent_at).fillna("")
        if "consent_source" in out:
            bad = out["consent_source"].ne("") & ~out["consent_source"].isin(CONSENT_SOURCES)
            v.reject(
                bad.to_numpy(),
                "consent_source",
                _("consent_source must be one of %(codes)s") % {"codes": ", ".join(sorted(CONSENT_SOURCES))},
            )
        if "tags" in out:
            out["tags"] = out["tags"].str.replace(",", ";")
        if "referred_by" in out:
            v.reject(
                (out["referred_by"].ne("") & out["referred_by"].eq(out["external_id"])).to_numpy(),
                "referred_by",
                _("a customer cannot be referred by themselves"),
            )
        customers = pd.DataFrame(out).loc[v.good].reset_index(drop=True)
        yield Chunk(customers=customers, errors=v.errors, rows_read=len(frame))


# --- Orders CSV --------------------------------------------------------------------------------------

ORDER_REQUIRED = ("order_id", "customer_id", "ordered_at", "sku", "quantity", "unit_price")
# `amount` is accepted so that an orders export imports back; it is recomputed from quantity x unit_price.
# `refunded_amount` is the order's (on each of its lines): how much of a refunded purchase was refunded.
ORDER_OPTIONAL = ("product_name", "category", "currency", "kind", "status", "refunded_amount", "amount")
KINDS = {"purchase", "refund"}
STATUSES = {"placed", "refunded", "cancelled"}


def orders_csv_chunks(text, *, time_zone: str) -> Iterator[Chunk]:
    for csv_frame in _read_csv_chunks(text, required=ORDER_REQUIRED, optional=ORDER_OPTIONAL, unguard=True):
        frame = csv_frame.frame
        v = Validator(frame, decimal_comma=csv_frame.decimal_comma)
        order_ext = v.required("order_id")
        customer_ext = v.required("customer_id")
        sku = v.required("sku")
        for values, column, limit in ((order_ext, "order_id", 64), (customer_ext, "customer_id", 64), (sku, "sku", 64)):
            v.max_length(values, column, limit)
        ordered_at = v.timestamp("ordered_at", fmt=None, tz=time_zone)
        quantity = v.number("quantity", integer=True)
        unit_price = v.number("unit_price")
        v.reject(unit_price.lt(0).to_numpy(), "unit_price", _("unit_price cannot be negative"))
        v.reject(quantity.eq(0).to_numpy(), "quantity", _("quantity cannot be 0"))
        n = len(frame)
        kind = frame["kind"].str.lower().replace("", "purchase") if "kind" in frame else None
        if kind is None:
            kind = pd.Series(["purchase"] * n, index=frame.index)
        v.reject((~kind.isin(KINDS)).to_numpy(), "kind", _("kind must be purchase or refund"))
        v.reject(
            (kind.eq("purchase") & quantity.lt(0)).to_numpy(),
            "quantity",
            _("quantity cannot be negative on a purchase (use kind=refund for returns)"),
        )
        status = frame["status"].str.lower().replace("", "placed") if "status" in frame else None
        if status is None:
            status = pd.Series(["placed"] * n, index=frame.index)
        v.reject((~status.isin(STATUSES)).to_numpy(), "status", _("status must be placed, refunded or cancelled"))
        currency = frame["currency"].str.upper() if "currency" in frame else None
        if currency is None:
            currency = pd.Series([settings.WORKSPACE_CURRENCY] * n, index=frame.index)
        currency = currency.replace("", settings.WORKSPACE_CURRENCY)
        v.reject((~currency.str.fullmatch(r"[A-Z]{3}")).to_numpy(), "currency", _("currency must be a 3-letter code"))
        refunded = _refunded_amounts(v, frame)
        sign = np.where(kind.eq("refund"), -1, 1)
        qty = quantity.abs().astype("int64") * sign
        _reject_line_amounts_too_large(v, quantity, unit_price, columns=("quantity", "unit_price"))
        lines = _order_lines_frame(
            v,
            order_ext=order_ext,
            customer_ext=customer_ext,
            ordered_at=_as_db_timestamp(ordered_at),
            currency=currency,
            kind=kind,
            status=status,
            refunded_amount=refunded,
            sku=sku,
            product_name=(frame["product_name"].str[:255] if "product_name" in frame else sku),
            category=(frame["category"].str[:100] if "category" in frame else ""),
            quantity=qty,
            unit_price=unit_price.round(4),
            amount=_line_amounts(qty.where(v.good, 0), unit_price.where(v.good, 0)),
        )
        yield Chunk(lines=lines, errors=v.errors, rows_read=n, bad_orders=set(order_ext[~v.good]))


def _refunded_amounts(v: Validator, frame: pd.DataFrame) -> pd.Series:
    """The refunded_amount column as text to the cent ("12.50"), None where it is empty or absent.

    Only its form is checked here; the refund rules (only of a purchase that was not cancelled,
    never more than the order's amount) need the whole order and what is stored: whole-file checks
    in writer.check_lines.
    """
    if "refunded_amount" not in frame:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    given = frame["refunded_amount"].ne("")
    amounts = v.number("refunded_amount", required=False)
    v.reject((given & amounts.lt(0)).to_numpy(), "refunded_amount", _("refunded_amount cannot be negative"))
    # Whole ten-thousandths first, as _line_amounts does, so that no float error moves a cent.
    cents = np.round(np.round(amounts.to_numpy(dtype=float) * 10_000) / 100).astype("int64")
    text = pd.Series([f"{c // 100}.{c % 100:02d}" for c in np.abs(cents)], index=frame.index, dtype=object)
    return text.where(given, None)


# --- Online Retail (UCI) ------------------------------------------------------------------------------

ONLINE_RETAIL_COLUMNS = (
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country",
)  # fmt: skip


def online_retail_chunks(text) -> Iterator[Chunk]:
    """Each invoice is an order; a 'C' invoice is a refund; lines without CustomerID are skipped."""
    for csv_frame in _read_csv_chunks(text, required=ONLINE_RETAIL_COLUMNS, optional=()):
        frame = csv_frame.frame
        n = len(frame)
        customer_raw = frame["CustomerID"].str.replace(r"\.0$", "", regex=True)
        no_customer = customer_raw.eq("").to_numpy()
        frame = frame.loc[~no_customer].reset_index(drop=True)
        customer_raw = customer_raw.loc[~no_customer].reset_index(drop=True)
        v = Validator(frame, decimal_comma=csv_frame.decimal_comma)
        invoice = v.required("InvoiceNo")
        stock = v.required("StockCode").str.upper()
        v.max_length(invoice, "InvoiceNo", 64)
        v.max_length(stock, "StockCode", 64)
        ordered_at = v.timestamp("InvoiceDate", fmt="%Y-%m-%d %H:%M:%S", tz="Europe/London")
        quantity = v.number("Quantity", integer=True)
        unit_price = v.number("UnitPrice")
        v.reject(unit_price.lt(0).to_numpy(), "UnitPrice", _("UnitPrice cannot be negative"))
        refund = invoice.str.upper().str.startswith("C")
        v.reject(quantity.eq(0).to_numpy(), "Quantity", _("Quantity cannot be 0"))
        v.reject(
            (~refund & quantity.lt(0)).to_numpy(),
            "Quantity",
            _("Quantity is negative on an invoice that is not a cancellation"),
            unless=("InvoiceNo",),
        )
        v.reject(
            (refund & quantity.gt(0)).to_numpy(),
            "Quantity",
            _("Quantity is positive on a cancellation invoice"),
            unless=("InvoiceNo",),
        )
        _reject_line_amounts_too_large(v, quantity, unit_price, columns=("Quantity", "UnitPrice"))
        qty = quantity.astype("int64")
        lines = _order_lines_frame(
            v,
            order_ext=invoice,
            customer_ext=customer_raw,
            ordered_at=_as_db_timestamp(ordered_at),
            currency="GBP",
            kind=np.where(refund, "refund", "purchase"),
            status="placed",
            sku=stock,
            product_name=frame["Description"].str[:255],
            category="",
            quantity=qty,
            unit_price=unit_price.round(4),
            amount=_line_amounts(qty.where(v.good, 0), unit_price.where(v.good, 0)),
        )
        customers = (
            pd.DataFrame(
                {
                    "line": v.lines,
                    "external_id": customer_raw,
                    "name": _("Customer %(id)s") % {"id": "{}"},
                    "country": frame["Country"].str[:64],
                }
            )
            .loc[v.good]
            .drop_duplicates("external_id")
        )
        customers["name"] = [
            name.format(ext) for name, ext in zip(customers["name"], customers["external_id"], strict=True)
        ]
        yield Chunk(
            customers=customers.reset_index(drop=True),
            lines=lines,
            errors=v.errors,
            rows_read=n,
            rows_skipped=int(no_customer.sum()),
            bad_orders=set(invoice[~v.good]),
            skipped_reason=_("lines without a CustomerID cannot be tied to a customer"),
        )


# --- CDNOW ---------------------------------------------------------------------------------------------

CDNOW_MASTER = ("customer_id", "date", "number_of_cds", "dollar_value")
CDNOW_SAMPLE = ("customer_id", "sample_id", "date", "number_of_cds", "dollar_value")


def cdnow_chunks(text) -> Iterator[Chunk]:
    """The master file (4 columns, header) or the 1/10 sample (5 columns, no header)."""
    first = text.readline()
    fields = first.split()
    if fields == list(CDNOW_MASTER):
        names, header_lines = CDNOW_MASTER, 1
    elif len(fields) == 5 and all(re.fullmatch(r"[0-9.]+", f) for f in fields):
        names, header_lines = CDNOW_SAMPLE, 0
    else:
        raise FileRefused(
            _("This is not a CDNOW file: expected the header '%(header)s' or five numeric columns.")
            % {"header": " ".join(CDNOW_MASTER)}
        )
    body = io.StringIO(first + text.read()) if header_lines == 0 else text
    seen = {"counts": pd.Series(dtype="int64")}
    start_line = 1 + header_lines
    try:
        reader = pd.read_csv(body, sep=r"\s+", header=None, names=list(names), dtype=str, chunksize=CHUNK_ROWS)
        for frame in reader:
            frame.insert(0, "_line", np.arange(start_line, start_line + len(frame)))
            start_line += len(frame)
            yield _cdnow_chunk(frame, seen)
    except pd.errors.ParserError as exc:
        raise FileRefused(_("The file is not a valid CDNOW file: %(error)s") % {"error": str(exc).strip()}) from None


def _cdnow_chunk(frame: pd.DataFrame, seen: dict) -> Chunk:
    v = Validator(frame.fillna(""))
    customer = v.required("customer_id").str.lstrip("0").replace("", "0")
    day = pd.to_datetime(frame["date"], format="%Y%m%d", errors="coerce")
    v.reject(day.isna().to_numpy(), "date", _("date must be YYYYMMDD"))
    v.in_window(day, "date")
    quantity = v.number("number_of_cds", integer=True)
    dollars = v.number("dollar_value")
    v.reject((quantity.lt(0) | dollars.lt(0)).to_numpy(), "dollar_value", _("CDNOW purchases cannot be negative"))
    # Noon UTC keeps the purchase on its calendar day in any workspace time zone within +-11h.
    ordered_at = (day + pd.Timedelta(hours=12)).dt.tz_localize("UTC")
    key = customer + "-" + frame["date"].str.strip()
    # Several purchases of one customer on one day each get their own order, numbered in file order
    # across chunks, so that re-importing the file maps every row to the same order.
    occurrence = key.groupby(key).cumcount() + key.map(seen["counts"]).fillna(0).astype("int64")
    seen["counts"] = seen["counts"].add(key.value_counts(), fill_value=0).astype("int64")
    qty = quantity.astype("int64")
    lines = _order_lines_frame(
        v,
        order_ext="CDNOW-" + key + "-" + (occurrence + 1).astype(str),
        customer_ext="CDNOW-" + customer,
        ordered_at=_as_db_timestamp(ordered_at),
        currency="USD",
        kind="purchase",
        status="placed",
        sku="CD",
        product_name="Compact disc",
        category="Music",
        quantity=qty,
        unit_price=(dollars / qty.where(qty > 0, 1)).round(4),
        amount=dollars.round(2),
    )
    customers = pd.DataFrame(
        {
            "line": v.lines,
            "external_id": "CDNOW-" + customer,
            "name": "CDNOW " + customer,
            "country": "United States",
        }
    )
    customers = customers.loc[v.good].drop_duplicates("external_id").reset_index(drop=True)
    return Chunk(customers=customers, lines=lines, errors=v.errors, rows_read=len(frame))


def chunks_for(format: str, text, *, time_zone: str) -> Iterator[Chunk]:  # noqa: A002
    if format == "customers":
        return customers_csv_chunks(text)
    if format == "orders":
        return orders_csv_chunks(text, time_zone=time_zone)
    if format == "online-retail":
        return online_retail_chunks(text)
    if format == "cdnow":
        return cdnow_chunks(text)
    raise FileRefused(_("Unknown format %(format)s.") % {"format": format})
