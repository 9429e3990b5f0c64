"""Files made to hurt the worker: a gzip bomb, binary data past the first bytes, a broken gzip stream."""

import gzip
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from customers.models import Customer, ImportJob

from .factories import CustomerFactory, run_import

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def gzip_of_one_long_line(megabytes: int) -> bytes:
    """A valid customers header, then one row whose name is `megabytes` MB of "a": ~1 KB per MB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    parts = [compressor.compress(b"external_id,name\nX,")]
    block = b"a" * 1_048_576
    parts += [compressor.compress(block) for _ in range(megabytes)]
    parts.append(compressor.compress(b"\n") + compressor.flush())
    return b"".join(parts)


def test_a_gzip_bomb_is_refused_and_nothing_is_written(ada):
    CustomerFactory(external_id="KEEP", name="Kept")

    job = run_import(ada, gzip_of_one_long_line(64), "customers", name="bomb.csv.gz")

    assert job.status == ImportJob.Status.FAILED
    assert "expands to more than" in job.message
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["KEEP"]


def test_a_gzip_file_expanding_beyond_the_limit_is_refused_whatever_its_ratio(ada, settings):
    settings.IMPORT_MAX_DECOMPRESSED_BYTES = 1_048_576
    rows = "".join(f"C-{n:06d},Customer {n} {os.urandom(8).hex()}\n" for n in range(40_000))  # ~1.5 MB

    job = run_import(ada, gzip.compress(("external_id,name\n" + rows).encode()), "customers", name="c.csv.gz")

    assert job.status == ImportJob.Status.FAILED
    assert "expands to more than 1 MB" in job.message
    assert not Customer.objects.exists()


def test_reading_a_gzip_bomb_keeps_the_worker_small(tmp_path):
    # In a process of its own, so that its peak memory is the import's alone. Before the check, a
    # 256 MB line took the reader from ~170 MB to ~700 MB.
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip_of_one_long_line(256))
    script = textwrap.dedent(
        """
        import resource, sys
        import django
        django.setup()
        from customers.imports.formats import FileRefused, chunks_for, open_text
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            with open_text(sys.argv[1]) as text:
                for _chunk in chunks_for("customers", text, time_zone="UTC"):
                    pass
            outcome = "read"
        except FileRefused:
            outcome = "refused"
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
        print(outcome, grown_mb)
        """
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "retention_crm.settings", "PYTHONPATH": str(ROOT)}

    result = subprocess.run(
        [sys.executable, "-c", script, str(bomb)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )

    outcome, grown_mb = result.stdout.split()
    assert outcome == "refused", result.stderr
    assert int(grown_mb) < 100


def test_a_nul_byte_after_the_first_64_kb_is_refused(ada):
    rows = "".join(f"C-{n:06d},Customer {n}\n" for n in range(5_000))  # ~100 KB
    content = ("external_id,name\n" + rows + "C-X,Nul\x00Byte\n").encode()

    job = run_import(ada, content, "customers")

    assert job.status == ImportJob.Status.FAILED
    assert "not a text file" in job.message
    assert not Customer.objects.exists()


def test_a_gzip_stream_broken_after_its_start_is_refused_with_a_reason(ada):
    rows = "".join(f"C-{n:06d},Customer {n} {os.urandom(16).hex()}\n" for n in range(20_000))
    whole = gzip.compress(("external_id,name\n" + rows).encode())

    job = run_import(ada, whole[: len(whole) // 2], "customers", name="cut.csv.gz")

    assert job.status == ImportJob.Status.FAILED
    assert "could not be read as gzip" in job.message
    assert not Customer.objects.exists()
