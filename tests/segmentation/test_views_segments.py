"""The browser pages of segments: list, detail, CSV export, the builder and its htmx partials."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from segmentation import services
from segmentation.models import Segment, SegmentSizeHistory
from tests.customers.factories import CustomerFactory

from .segment_factories import group, metrics, rule

pytestmark = pytest.mark.django_db

AT_RISK = group(rule("metrics.churn_risk", "gte", 0.7))
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def segment(marta, alice, bob):
    for name, manager in (("Ann", alice), ("Ben", bob), ("Cat", None)):
        metrics(
            CustomerFactory(name=name, account_manager=manager, email=f"{name.lower()}@example.com"), churn_risk=0.9
        )
    segment = services.segment_create(name="At risk", definition=AT_RISK, user=marta)
    services.segment_refresh(segment_id=segment.pk)
    return segment


def login(client, user):
    client.force_login(user)
    return client


def builder_post(**fields) -> dict:
    """The builder form's fields for a one-rule tree, plus overrides."""
    data = {
        "name": "Built",
        "description": "",
        "is_active": "on",
        "r.kind": "group",
        "r.op": "and",
        "r-0.kind": "rule",
        "r-0.field": "metrics.churn_risk",
        "r-0.operator": "gte",
        "r-0.value": "0.7",
    }
    data.update(fields)
    return data


def test_list_shows_sizes_and_sparklines_and_the_new_button_to_marta(client, marta, segment):
    SegmentSizeHistory.objects.create(segment=segment, at=timezone.localdate() - timedelta(days=1), size=1)

    response = login(client, marta).get(reverse("segments:list"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "At risk" in content
    assert [s.sparkline for s in response.context["rules"]] == [[1, 3]]
    assert "<polyline" in content
    assert "High value / high risk" in content
    assert reverse("segments:create") in content


def test_list_counts_alices_book_and_has_no_edit_controls(client, alice, segment):
    response = login(client, alice).get(reverse("segments:list"))

    assert response.status_code == 200
    rows = {s.name: s.visible_count for s in response.context["rules"]}
    assert rows == {"At risk": 1}
    assert reverse("segments:create") not in response.content.decode()


def test_charlie_gets_404_everywhere(client, charlie, segment):
    login(client, charlie)

    assert client.get(reverse("segments:list")).status_code == 404
    assert client.get(reverse("segments:detail", args=[segment.pk])).status_code == 404
    assert client.get(reverse("segments:export", args=[segment.pk])).status_code == 404
    assert client.get(reverse("segments:create")).status_code == 404


def test_detail_shows_definition_members_events_and_chart(client, marta, segment):
    response = login(client, marta).get(reverse("segments:detail", args=[segment.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Churn risk is at least 0.7" in content
    assert [c.name for c in response.context["page"].object_list] == ["Ann", "Ben", "Cat"]
    assert len(response.context["events"]) == 3
    assert response.context["chart"]["datasets"][0]["data"] == [3]
    assert 'data-chart-source="chart-segment-size-data"' in content
    assert reverse("segments:edit", args=[segment.pk]) in content
    assert reverse("segments:refresh", args=[segment.pk]) in content


def test_alice_sees_only_her_book_in_detail_and_no_edit_controls(client, alice, segment):
    response = login(client, alice).get(reverse("segments:detail", args=[segment.pk]))

    content = response.content.decode()
    assert [c.name for c in response.context["page"].object_list] == ["Ann"]
    assert [e.customer.name for e in response.context["events"]] == ["Ann"]
    assert "Ben" not in content
    assert reverse("segments:edit", args=[segment.pk]) not in content
    assert reverse("segments:refresh", args=[segment.pk]) not in content
    assert reverse("segments:delete", args=[segment.pk]) not in content


def test_alice_cannot_reach_the_edit_pages(client, alice, segment):
    login(client, alice)

    assert client.get(reverse("segments:create")).status_code == 404
    assert client.get(reverse("segments:edit", args=[segment.pk])).status_code == 404
    assert client.post(reverse("segments:delete", args=[segment.pk])).status_code == 404
    assert client.post(reverse("segments:refresh", args=[segment.pk])).status_code == 404
    assert client.post(reverse("segments:builder_preview"), builder_post()).status_code == 404
    assert client.post(reverse("segments:builder_tree"), builder_post()).status_code == 404


def test_csv_export_respects_visibility(client, alice, marta, segment):
    def rows(user):
        response = login(client, user).get(reverse("segments:export", args=[segment.pk]))
        assert response["Content-Type"].startswith("text/csv")
        return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    alice_rows, marta_rows = rows(alice), rows(marta)

    assert alice_rows[0] == ["external_id", "name", "email", "country", "account_manager", "entered_at"]
    assert [row[1] for row in alice_rows[1:]] == ["Ann"]
    assert alice_rows[1][4] == "alice"
    assert sorted(row[1] for row in marta_rows[1:]) == ["Ann", "Ben", "Cat"]


def test_builder_renders_with_grouped_fields(client, marta):
    response = login(client, marta).get(reverse("segments:create"))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<optgroup label="Customer">' in content
    assert '<optgroup label="Metrics">' in content
    assert '<optgroup label="Behaviour">' in content
    assert 'name="r-0.field"' in content
    assert reverse("segments:builder_preview") in content


def test_builder_saves_a_valid_segment(client, marta, django_capture_on_commit_callbacks):
    metrics(CustomerFactory(), churn_risk=0.9)

    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, marta).post(reverse("segments:create"), builder_post(action="save"))

    segment = Segment.objects.get(name="Built")
    assert response.status_code == 302
    assert response["Location"] == segment.get_absolute_url()
    assert segment.definition == {
        "op": "and",
        "rules": [{"field": "metrics.churn_risk", "operator": "gte", "value": 0.7}],
    }
    assert segment.member_count == 1


def test_builder_shows_errors_inline_and_saves_nothing(client, marta):
    data = builder_post(**{"action": "save", "name": "", "r-0.value": "lots", "r-1.kind": "group", "r-1.op": "or"})

    response = login(client, marta).post(reverse("segments:create"), data)

    content = response.content.decode()
    assert response.status_code == 200
    assert "“lots” is text where a number is needed." in content
    assert "This group is empty" in content
    assert "This field is required." in content
    assert 'id="value-r-0-error"' in content
    assert not Segment.objects.filter(kind="rule").exists()


def test_builder_edits_a_segment_and_keeps_it_whole_on_error(client, marta, segment):
    login(client, marta)
    url = reverse("segments:edit", args=[segment.pk])

    bad = client.post(url, builder_post(action="save", name="Renamed", **{"r-0.operator": "is_true"}))
    segment.refresh_from_db()
    assert bad.status_code == 200
    assert "cannot be used with Churn risk" in bad.content.decode()
    assert segment.name == "At risk"

    good = client.post(url, builder_post(action="save", name="Renamed", **{"r-0.value": "0.5"}))

    segment.refresh_from_db()
    assert segment.name == "Renamed"
    assert segment.definition["rules"][0]["value"] == 0.5
    assert good.status_code == 302


def test_builtins_have_no_edit_page(client, marta):
    builtin = Segment.objects.get(key="pareto_top")

    assert login(client, marta).get(reverse("segments:edit", args=[builtin.pk])).status_code == 404


def test_copy_of_a_builtin_starts_a_new_segment(client, marta):
    builtin = Segment.objects.get(key="value_risk.high_high")

    response = login(client, marta).get(reverse("segments:create") + f"?from={builtin.pk}")

    assert response.context["form"].initial["name"] == "High value / high risk (copy)"
    assert 'value="metrics.value_level" selected' in response.content.decode()


def test_add_and_remove_without_javascript(client, marta):
    login(client, marta)

    added = client.post(reverse("segments:create"), builder_post(action="add_group:r"))
    removed = client.post(reverse("segments:create"), builder_post(action="remove:r-0"))

    assert 'name="r-1.kind" value="group"' in added.content.decode()
    assert 'name="r-1-0.kind" value="rule"' in added.content.decode()
    assert 'name="r-0.kind"' not in removed.content.decode()
    assert not Segment.objects.filter(kind="rule").exists()


def test_tree_partial_adapts_the_inputs_to_the_field(client, marta):
    login(client, marta)
    choice = builder_post(**{"r-0.field": "metrics.risk_level", "r-0.operator": "in"})
    window = builder_post(**{"r-0.field": "behaviour.bought_category", "r-0.operator": ""})

    choice_html = client.post(reverse("segments:builder_tree"), choice, **HTMX).content.decode()
    window_html = client.post(reverse("segments:builder_tree"), window, **HTMX).content.decode()
    added = client.post(reverse("segments:builder_tree"), builder_post(action="add_rule:r"), **HTMX)

    assert 'multiple size="4"' in choice_html
    assert '<option value="high">High</option>' in choice_html
    assert 'name="r-0.days"' in window_html
    assert 'name="r-0.days"' not in choice_html
    assert 'name="r-1.kind" value="rule"' in added.content.decode()
    assert added["HX-Trigger-After-Settle"] == "segment-tree-changed"
    assert not added.content.decode().lstrip().startswith("<!doctype")


def test_preview_partial_counts_samples_and_says_matches_nobody(client, alice, marta, segment):
    login(client, marta)

    found = client.post(reverse("segments:builder_preview"), builder_post(), **HTMX)
    nobody = client.post(
        reverse("segments:builder_preview"),
        builder_post(
            **{"r-1.kind": "rule", "r-1.field": "metrics.churn_risk", "r-1.operator": "lt", "r-1.value": "0.2"}
        ),
        **HTMX,
    )
    invalid = client.post(reverse("segments:builder_preview"), builder_post(**{"r-0.value": "abc"}), **HTMX)

    assert found.context["preview"].count == 3
    assert "3 customers match" in found.content.decode()
    assert "Ann" in found.content.decode()
    assert "Matches nobody" in nobody.content.decode()
    assert invalid.status_code == 200
    assert "“abc” is text where a number is needed." in invalid.content.decode()


def test_refresh_now_and_delete(client, marta, segment):
    login(client, marta)

    refreshed = client.post(reverse("segments:refresh", args=[segment.pk]))
    deleted = client.post(reverse("segments:delete", args=[segment.pk]))

    assert refreshed.status_code == 302
    assert deleted.status_code == 302
    assert not Segment.objects.filter(pk=segment.pk).exists()


def test_customer_page_lists_the_segments_of_the_customer(client, marta, segment):
    ann = segment.memberships.get(customer__name="Ann").customer

    response = login(client, marta).get(ann.get_absolute_url())

    assert 'id="segments-panel"' in response.content.decode()
    assert "At risk" in response.content.decode()


def test_nav_has_a_segments_link(client, alice):
    response = login(client, alice).get(reverse("segments:list"))

    assert f'href="{reverse("segments:list")}"' in response.content.decode()


def test_csv_export_sends_its_first_rows_before_reading_the_rest(client, monkeypatch, marta, segment):
    # Two members a chunk and every row sent at once: the first row goes out after one chunk is read.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from retention_crm import csv as crm_csv
    from segmentation import views

    monkeypatch.setattr(views, "EXPORT_CHUNK_SIZE", 2)
    monkeypatch.setattr(crm_csv, "PIECE_CHARS", 1)
    response = login(client, marta).get(reverse("segments:export", args=[segment.pk]))
    pieces = iter(response.streaming_content)

    with CaptureQueriesContext(connection) as header:
        next(pieces)
    with CaptureQueriesContext(connection) as first_row:
        next(pieces)
    with CaptureQueriesContext(connection) as rest:
        remaining = list(pieces)

    assert header.captured_queries == []
    assert len(first_row.captured_queries) == 1 and " LIMIT 2" in first_row.captured_queries[0]["sql"].upper()
    assert len(remaining) == 2 and len(rest.captured_queries) == 1  # the second chunk: the third member
    assert not any("DECLARE" in q["sql"].upper() for q in first_row.captured_queries + rest.captured_queries)
