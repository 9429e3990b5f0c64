"""Rewrite the events table of docs/architecture.md from retention_crm/events.py (make docs)."""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_crm.settings")

import django  # noqa: E402

django.setup()

from retention_crm import events  # noqa: E402

doc = ROOT / "docs" / "architecture.md"
text = doc.read_text(encoding="utf-8")
table = f"<!-- events-table -->\n{events.markdown_table()}\n<!-- /events-table -->"
doc.write_text(re.sub(r"<!-- events-table -->.*?<!-- /events-table -->", lambda _: table, text, flags=re.S))
