"""metrics.pgbinary: PostgreSQL's binary COPY rows as numpy record arrays, both ways."""

import io

import numpy as np
import pytest
from django.db import connection

from metrics import pgbinary

COLUMNS = (("id", "int8"), ("day", "int4"), ("score", "int2"), ("amount", "float8"), ("flag", "bool"))
VALUES = {
    "id": np.array([1, 2**40, 3]),
    "day": np.array([0, -1, 20_000]),
    "score": np.array([5, 0, 1]),
    "amount": np.array([1.5, np.nan, -1e300]),
    "flag": np.array([True, False, True]),
}


def test_encode_then_decode_gives_the_values_back():
    rows = pgbinary.decode(COLUMNS, pgbinary.encode(COLUMNS, VALUES))

    for name in ("id", "day", "score", "flag"):
        assert rows[name].astype(VALUES[name].dtype).tolist() == VALUES[name].tolist()
    assert np.array_equal(rows["amount"], VALUES["amount"], equal_nan=True)


def test_decode_refuses_what_is_not_binary_copy_or_not_laid_out_as_said():
    with pytest.raises(ValueError, match="binary format"):
        pgbinary.decode(COLUMNS, b"1,2,3\n")
    payload = pgbinary.encode(COLUMNS, VALUES)
    with pytest.raises(ValueError, match="width"):
        pgbinary.decode(COLUMNS[:-1], payload)


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_reads_what_we_encode_and_we_read_what_it_sends():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE binary_check (id int8, day int4, score int2, amount float8, flag bool)")
        cursor.copy_expert(
            "COPY binary_check FROM STDIN WITH (FORMAT binary)", io.BytesIO(pgbinary.encode(COLUMNS, VALUES))
        )
        cursor.execute("SELECT id, day, score, amount::text, flag FROM binary_check ORDER BY id")
        assert cursor.fetchall() == [
            (1, 0, 5, "1.5", True),
            (3, 20000, 1, "-1e+300", True),
            (2**40, -1, 0, "NaN", False),
        ]
        out = io.BytesIO()
        cursor.copy_expert("COPY (SELECT * FROM binary_check ORDER BY id) TO STDOUT WITH (FORMAT binary)", out)
    rows = pgbinary.decode(COLUMNS, out.getbuffer())
    assert rows["id"].tolist() == [1, 3, 2**40] and rows["day"].tolist() == [0, 20000, -1]
