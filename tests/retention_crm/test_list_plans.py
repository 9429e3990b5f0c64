"""Every list reads an index in the order it returns (docs/architecture.md, "Lists").

The API's list endpoints are found in the OpenAPI schema, so a new one is covered without a change
here: each, in its default order and in every ``?ordering=`` it allows, as an administrator and as
an account manager (whose lists are their book), has the query of its first page explained with
sequential scans and sorts made as costly as PostgreSQL allows. On a table of a few rows the
planner would otherwise rightly read everything and sort it; with them off, a Sort node that is
still there means no index can serve that order, and at a million rows that list would sort the
whole table on every request.

The list pages are not in the schema; ``PAGES`` names them.
"""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from contact_plans.models import FollowUp
from customers.models import ImportJob, ImportRowError, Interaction
from loyalty.models import Member, Reward
from loyalty.services import points_adjust
from metrics.models import CustomerMetrics, ModelVersion
from retention_crm.api import OrderingFilter
from segmentation.models import Segment, SegmentEvent, SegmentMembership
from tests.clients import client_for
from tests.customers.factories import CustomerFactory, OrderFactory, order_add_line

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Lists that are not cursor-paginated, and why they need not be.
NOT_CURSOR_PAGINATED = {
    # Ordered by a priority computed per row over one account manager's book (a few thousand
    # customers at most), numbered pages; never the whole base.
    "/api/v1/worklist/": "a book, ranked",
    # The registry of segment conditions: a few dozen entries, no query.
    "/api/v1/segments/conditions/": "a registry",
    # A customer's top products (at most 50, `limit`) and a product's kept related products (at most
    # RECOMMEND_PAIRS_KEPT): an object with a short list, read from one index range.
    "/api/v1/customers/{customer_id}/recommendations/": "a top-N of at most 50",
    "/api/v1/products/{product_id}/related/": "the related products kept per product, at most 50",
}
# Distinctive, so that the page's query is told from the others by its LIMIT (page size + 1).
PAGE_SIZE = 13

PAGES = (
    [
        ("customers:list", {"sort": sort})
        for sort in ("name", "-name", "country", "-country", "acquired_at", "-acquired_at", "created_at", "-created_at")
    ]
    + [("metrics:cell_customers", {"value_level": "high", "risk_level": "high"})]
    + [
        ("complaints:list", {"view": view, "sort": sort})
        for view in ("open", "overdue", "mine", "resolved", "all")
        for sort in ("due_at", "-occurred_at", "occurred_at")
    ]
)


@pytest.fixture
def one_of_everything(ada, alice):
    """A row in every table a list reads, so that every endpoint runs its page query."""
    customer = CustomerFactory(account_manager=alice)
    order_add_line(OrderFactory(customer=customer))
    Interaction.objects.create(customer=customer, kind="call", subject="Hello", occurred_at=timezone.now())
    job = ImportJob.objects.create(format="customers", original_name="c.csv", path="/tmp/c.csv", created_by=alice)
    ImportRowError.objects.create(job=job, line=2, reason="bad")
    segment = Segment.objects.create(name="Everyone", definition={"op": "and", "rules": []})
    SegmentMembership.objects.create(segment=segment, customer=customer, entered_at=timezone.now())
    SegmentEvent.objects.create(segment=segment, customer=customer, kind="entered", at=timezone.now())
    FollowUp.objects.create(customer=customer, assigned_to=alice, due_at=timezone.now() + timedelta(days=1))
    version = ModelVersion.objects.create(
        as_of=timezone.localdate(), bgnbd_r=1, bgnbd_alpha=1, bgnbd_a=1, bgnbd_b=1,
        bgnbd_log_likelihood=-1, n_customers=1, fit_seconds=0.1,
    )  # fmt: skip
    CustomerMetrics.objects.create(customer=customer, as_of=timezone.localdate(), model_version=version)
    member = Member.objects.create(customer=customer, enrolled_at=timezone.now())
    points_adjust(customer=customer, points=10, reason="Welcome", user=ada)
    Reward.objects.create(name="Mug", points_cost=10)
    assert member.entries.exists()
    return {"segment": segment, "job": job}


def _list_paths() -> list[str]:
    """GET paths whose answer is a list: a page of results, or a plain array."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    paths = []
    for path, operations in schema["paths"].items():
        content = operations.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        body = content.get("application/json", {}).get("schema", {})
        if "$ref" in body:
            body = components[body["$ref"].rsplit("/", 1)[1]]
        if body.get("type") == "array" or "results" in body.get("properties", {}):
            paths.append(path)
    return paths


def _url(path: str) -> str:
    """The path with its {id} filled with a row of the model its view serves."""
    if "{" not in path:
        return path
    view = resolve(re.sub(r"\{[^}]+\}", "1", path)).func
    model = view.cls.serializer_class.Meta.model
    return re.sub(r"\{[^}]+\}", str(model.objects.order_by("pk").values_list("pk", flat=True)[0]), path)


def _orderings(match) -> list[str]:
    """ "" (the default) and every ``?ordering=`` a list view allows, both ways."""
    view = match.func
    if getattr(view, "actions", {"get": "list"}).get("get") != "list":
        return [""]  # an extra action (a segment's members): its pagination's order only
    backends = view.initkwargs.get("filter_backends", view.cls.filter_backends)
    if not any(issubclass(backend, OrderingFilter) for backend in backends):
        return [""]
    fields = view.cls.ordering_fields
    assert fields is not None, f"{view.cls.__name__}: declare ordering_fields (each with its index)"
    return ["", *(f"{sign}{name}" for name in fields for sign in ("", "-"))]


def _sorts(plan: dict) -> list[str]:
    found = [plan["Node Type"]] if "Sort" in plan["Node Type"] else []
    for child in plan.get("Plans", []):
        found += _sorts(child)
    return found


def _page_queries(queries: list[dict], limit: int) -> list[str]:
    return [q["sql"] for q in queries if "ORDER BY" in q["sql"] and q["sql"].rstrip().endswith(f"LIMIT {limit}")]


def _plan_sorts(sql: str) -> list[str]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
    return _sorts(plan[0]["Plan"])


def _check(client, url: str, params: dict, limit: int) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, (url, params, response.status_code)
    pages = _page_queries(captured.captured_queries, limit)
    assert pages, f"{url} {params}: no query of the page (ORDER BY ... LIMIT {limit}) was run"
    return [f"{url} {params}: {sorts} in\n{sql}" for sql in pages if (sorts := _plan_sorts(sql))]


def test_every_api_list_is_cursor_paginated_and_reads_an_index_in_its_order(one_of_everything, ada, alice):
    failures = []
    paths = _list_paths()
    assert "/api/v1/customers/" in paths and "/api/v1/orders/" in paths

    for path in paths:
        if path in NOT_CURSOR_PAGINATED:
            continue
        url = _url(path)
        match = resolve(url)
        pagination = match.func.initkwargs.get("pagination_class", match.func.cls.pagination_class)
        assert pagination is not None and hasattr(pagination, "cursor_query_param"), (
            f"{path} is a list without cursor pagination: add it, or say in NOT_CURSOR_PAGINATED why it is short"
        )
        sized = pagination.page_size_query_param is not None
        limit = (PAGE_SIZE if sized else pagination.page_size) + 1
        for user in (ada, alice):
            client = APIClient()
            client.force_authenticate(user)
            for ordering in _orderings(match):
                params = {"ordering": ordering} if ordering else {}
                if sized:
                    params[pagination.page_size_query_param] = PAGE_SIZE
                failures += [f"{user.username}: {failure}" for failure in _check(client, url, params, limit)]

    assert not failures, "\n\n".join(failures)


def test_list_pages_read_an_index_in_their_order(one_of_everything, ada, alice):
    segment_page = ("segments:detail", {}, [one_of_everything["segment"].pk])
    failures = []

    for name, params, args in [*((name, params, []) for name, params in PAGES), segment_page]:
        for user in (ada, alice):
            failures += _check(client_for(user), reverse(name, args=args), params, 51)

    assert not failures, "\n\n".join(failures)
