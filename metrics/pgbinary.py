"""PostgreSQL's binary COPY format for rows of fixed-width, NOT NULL columns, as numpy record arrays.

A row of ``COPY ... (FORMAT binary)`` is a 16-bit field count, then for each field its 32-bit length
and its big-endian value. When every field is fixed-width and never NULL, every row has the same
layout, so a million rows are one numpy record array: encoded or decoded in milliseconds, where
CSV text costs seconds of formatting and parsing. Callers keep NULLs out (a sentinel value, turned
back into NULL in SQL) and cast in SQL to the widths given here.

https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # no OIDs, no header extension
TRAILER = b"\xff\xff"  # a field count of -1

# The numpy type of each PostgreSQL type this module handles.
TYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "u1", "timestamp": ">i8"}

# A timestamp (without time zone) travels as microseconds since 2000-01-01 00:00; 'infinity' as the
# largest int8.
TIMESTAMP_EPOCH_MICROS = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01
TIMESTAMP_INFINITY = np.iinfo("int64").max


def row_dtype(columns: Sequence[tuple[str, str]]) -> np.dtype:
    """The record type of one row of (name, PostgreSQL type) columns, length fields included."""
    fields: list[tuple[str, str]] = [("_count", ">i2")]
    for name, pg_type in columns:
        fields += [(f"_len_{name}", ">i4"), (name, TYPES[pg_type])]
    return np.dtype(fields)


def encode(columns: Sequence[tuple[str, str]], values: Mapping[str, np.ndarray]) -> bytes:
    """The COPY FROM STDIN (FORMAT binary) payload of rows whose columns are `values[name]`."""
    dtype = row_dtype(columns)
    n = len(values[columns[0][0]]) if columns else 0
    rows = np.empty(n, dtype=dtype)
    rows["_count"] = len(columns)
    for name, pg_type in columns:
        rows[f"_len_{name}"] = np.dtype(TYPES[pg_type]).itemsize
        rows[name] = values[name]
    return HEADER + rows.tobytes() + TRAILER


def decode(columns: Sequence[tuple[str, str]], data: bytes | memoryview) -> np.ndarray:
    """The record array of a COPY TO STDOUT (FORMAT binary) answer of such columns (a view of
    `data`, no copy). Raises ValueError when the answer is not laid out as expected."""
    data = memoryview(data)
    if bytes(data[: len(SIGNATURE)]) != SIGNATURE:
        raise ValueError("COPY did not answer in PostgreSQL's binary format.")
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension : len(data) - len(TRAILER)]
    dtype = row_dtype(columns)
    if len(body) % dtype.itemsize:
        raise ValueError("The binary COPY rows are not of the expected width (a NULL or a wider type?).")
    rows = np.frombuffer(body, dtype=dtype)
    expected = [np.dtype(TYPES[pg_type]).itemsize for _name, pg_type in columns]
    if len(rows) and (
        (rows["_count"] != len(columns)).any()
        or any((rows[f"_len_{name}"] != size).any() for (name, _t), size in zip(columns, expected, strict=True))
    ):
        raise ValueError("The binary COPY rows are not laid out as expected (a NULL or another type?).")
    return rows
