"""The Content-Security-Policy on every page, and no page that it would break: no inline script."""

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from customers.models import AccountAssignment, ImportJob
from metrics.services import metrics_recompute
from segmentation.models import Segment
from tests.clients import client_for
from tests.customers.factories import CustomerFactory, InteractionFactory
from tests.metrics.conftest import at_noon, order_on

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


class InlineCode(HTMLParser):
    """Collects what a `script-src 'self'` policy refuses: inline scripts and on* handler attributes."""

    def __init__(self):
        super().__init__()
        self.offenders: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, _value in attrs:
            if name.startswith("on"):
                self.offenders.append(f"<{tag} {name}=…>")
        if tag == "script":
            is_data = (attributes.get("type") or "").lower() == "application/json"
            self._in_script = "src" not in attributes and not is_data
        for name in ("href", "src", "action"):
            if (attributes.get(name) or "").strip().lower().startswith("javascript:"):
                self.offenders.append(f"<{tag} {name}=javascript:…>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.offenders.append(f"<script>{data.strip()[:60]}</script>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.offenders


@pytest.fixture
def workspace(alice, ada):
    """A customer of Alice's with orders, a logged call and computed metrics; an import job."""
    customer = CustomerFactory(account_manager=alice)
    AccountAssignment.objects.create(customer=customer, manager=alice, started_at=at_noon("2023-01-01"))
    for day in ("2024-01-05", "2024-03-05", "2024-06-05"):
        order_on(customer, day, "40.00")
    InteractionFactory(customer=customer)
    metrics_recompute(as_of=date(2024, 6, 30))
    job = ImportJob.objects.create(format="customers", original_name="c.csv", path="/nowhere", created_by=ada)
    return {"customer": customer, "job": job}


def pages(workspace) -> list[str]:
    customer, job = workspace["customer"], workspace["job"]
    builtin = Segment.objects.get(key="pareto_top")
    return [
        reverse("customers:list"),
        reverse("customers:create"),
        reverse("customers:detail", args=[customer.pk]),
        reverse("customers:edit", args=[customer.pk]),
        reverse("customers:imports"),
        reverse("customers:import_detail", args=[job.pk]),
        reverse("metrics:dashboard"),
        reverse("metrics:model_health"),
        reverse("segments:list"),
        reverse("segments:create"),
        reverse("segments:detail", args=[builtin.pk]),
        reverse("worklist:book"),
        reverse("password_change"),
        reverse("admin:index"),
        reverse("admin:customers_customer_changelist"),
        reverse("admin:customers_customer_change", args=[customer.pk]),
        reverse("api-docs"),
    ]


def test_every_page_has_the_policy_and_no_inline_code(workspace, ada, alice):
    ada_client = client_for(ada)
    responses = {url: ada_client.get(url) for url in pages(workspace)}
    responses["my-book"] = client_for(alice).get(reverse("worklist:home"))
    responses["login"] = Client().get(reverse("login"))
    responses["admin login"] = Client().get(reverse("admin:login"))

    assert {url: response.status_code for url, response in responses.items()} == dict.fromkeys(responses, 200)
    assert {url: r.get("Content-Security-Policy") for url, r in responses.items()} == dict.fromkeys(
        responses, settings.CONTENT_SECURITY_POLICY
    )
    offenders = {url: inline_code(r.content.decode()) for url, r in responses.items()}
    assert {url: found for url, found in offenders.items() if found} == {}


def test_the_policy_allows_scripts_from_our_own_files_only():
    directives = dict(part.strip().split(" ", 1) for part in settings.CONTENT_SECURITY_POLICY.split(";"))

    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-eval" not in settings.CONTENT_SECURITY_POLICY


def test_the_api_docs_start_up_script_is_a_file_of_its_own(ada):
    page = client_for(ada).get(reverse("api-docs")).content.decode()
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', page).group(1).replace("&amp;", "&")

    script = client_for(ada).get(script_url)

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def test_no_template_has_inline_script_or_handlers():
    templates = [*(ROOT / "templates").rglob("*.html"), *ROOT.glob("*/templates/**/*.html")]
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in templates
        if (found := inline_code(re.sub(r"{%.*?%}|{{.*?}}", "x", path.read_text(encoding="utf-8"), flags=re.S)))
    }

    assert templates
    assert offenders == {}
