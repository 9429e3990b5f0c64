"""Cases (complaints, support contacts, reviews): defaults, status changes and their events, the
history, reopening on purpose only, the figures, the worklist's overdue reason, and email-in."""

import base64
import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from customers import selectors, services
from customers.case_signals import OverdueCaseSignal
from customers.inbound import inbound_email_attach, inbound_email_discard, inbound_email_record
from customers.models import Customer, InboundEmail, Interaction, InteractionChange
from retention_crm import events
from tests.customers.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    seen = []
    monkeypatch.setattr(events, "publish", lambda event, **payload: seen.append((event.name, payload)))
    return seen


@pytest.fixture
def customer(alice):
    return CustomerFactory(account_manager=alice, email="ann@example.com")


def _complaint(customer, **extra):
    return services.interaction_log(
        customer=customer, kind=Interaction.Kind.COMPLAINT, subject="Parcel arrived broken", **extra
    )


def test_a_new_complaint_is_open_owned_by_the_account_manager_and_due_by_its_priority(customer, alice):
    now = timezone.now()
    normal = _complaint(customer, occurred_at=now)
    urgent = _complaint(customer, occurred_at=now, priority="urgent")

    assert normal.status == "open" and normal.priority == "normal" and normal.owner == alice
    assert normal.due_at == now + timedelta(hours=72)
    assert urgent.due_at == now + timedelta(hours=4)
    assert normal.is_open and not normal.is_overdue


def test_a_call_has_no_case_fields_and_a_review_has_its_rating(customer):
    call = services.interaction_log(customer=customer, kind="call", subject="Hello")
    review = services.interaction_log(
        customer=customer, kind="review", subject="Lovely", rating=5, review_source="Google"
    )

    assert (call.status, call.priority, call.owner, call.due_at) == ("", "", None, None)
    assert review.status == "open" and review.rating == 5
    with pytest.raises(ValidationError):
        services.interaction_log(customer=customer, kind="call", subject="x", rating=3)
    with pytest.raises(ValidationError):
        services.interaction_log(customer=customer, kind="review", subject="x", rating=6)


def test_the_owner_must_be_someone_who_handles_cases(customer, charlie, marta):
    for nobody in (charlie, marta):
        with pytest.raises(ValidationError, match="account manager or administrator"):
            _complaint(customer, owner=nobody)


def test_status_changes_publish_events_and_are_kept_in_the_history(customer, alice, published):
    case = _complaint(customer)
    published.clear()

    services.complaint_status_set(complaint=case, status="in_progress", by=alice)
    services.complaint_resolve(complaint=case, resolution="Refunded and apologised.", by=alice)

    case.refresh_from_db()
    assert case.status == "resolved" and case.resolved_by == alice and case.resolution == "Refunded and apologised."
    assert case.time_to_resolve >= timedelta(0)
    assert published == [
        (
            "interaction.status_changed",
            {"interaction_id": case.pk, "customer_id": customer.pk, "status": "in_progress"},
        ),
        ("interaction.status_changed", {"interaction_id": case.pk, "customer_id": customer.pk, "status": "resolved"}),
        ("interaction.resolved", {"interaction_id": case.pk, "customer_id": customer.pk}),
    ]
    history = list(case.changes.values_list("field", "old_value", "new_value"))
    assert history == [
        ("status", "open", "in_progress"),
        ("status", "in_progress", "resolved"),
        ("resolution", "", "Refunded and apologised."),
    ]


def test_a_resolution_is_required_and_a_resolved_case_is_reopened_on_purpose_only(customer, alice):
    case = _complaint(customer)
    with pytest.raises(ValidationError, match="how the case was resolved"):
        services.complaint_resolve(complaint=case, resolution="   ", by=alice)
    services.complaint_resolve(complaint=case, resolution="Sent a new one.", by=alice)

    with pytest.raises(ValidationError, match="already resolved"):
        services.complaint_resolve(complaint=case, resolution="Again", by=alice)
    with pytest.raises(ValidationError, match="Reopen it on purpose"):
        services.complaint_status_set(complaint=case, status="open", by=alice)
    with pytest.raises(ValidationError):
        services.complaint_status_set(complaint=case, status="resolved", by=alice)

    services.complaint_status_set(complaint=case, status="open", by=alice, reopen=True)
    case.refresh_from_db()
    assert case.status == "open" and case.resolved_at is None and case.resolution == ""
    # The earlier resolution stays in the history.
    assert case.changes.filter(field="resolution", new_value="Sent a new one.").exists()


def test_assigning_and_reprioritising_are_recorded_and_bad_values_refused(customer, alice, bob):
    case = _complaint(customer)

    case, changed = services.complaint_update(complaint=case, by=alice, owner=bob, priority="high")
    assert changed and case.owner == bob and case.priority == "high"
    _, changed = services.complaint_update(complaint=case, by=alice, owner=bob)
    assert not changed
    with pytest.raises(ValidationError):
        services.complaint_update(complaint=case, by=alice, priority="whenever")
    with pytest.raises(ValidationError, match="before the case arrived"):
        services.complaint_update(complaint=case, by=alice, due_at=case.occurred_at - timedelta(hours=1))
    assert list(case.changes.values_list("field", "new_value")) == [("owner", "bob"), ("priority", "high")]


def test_html_in_a_complaint_is_stored_as_text(customer):
    case = _complaint(customer, body="<script>alert(1)</script>")
    assert Interaction.objects.get(pk=case.pk).body == "<script>alert(1)</script>"


def test_the_database_refuses_a_case_without_status_or_a_resolved_case_without_a_time(customer):
    case = _complaint(customer)
    for change in ({"status": ""}, {"status": "resolved"}, {"priority": "soon"}, {"rating": 3}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Interaction.objects.filter(pk=case.pk).update(**change)


def test_figures_count_open_and_overdue_and_the_median_time_to_resolve(customer, alice, bob):
    now = timezone.now()
    InteractionFactory(customer=customer, kind="complaint", occurred_at=now - timedelta(days=5))  # overdue
    InteractionFactory(customer=customer, kind="support_ticket", occurred_at=now - timedelta(hours=1))
    for hours in (2, 4, 30):
        InteractionFactory(
            customer=customer,
            kind="complaint",
            occurred_at=now - timedelta(days=2),
            resolved_at=now - timedelta(days=2) + timedelta(hours=hours),
        )
    InteractionFactory(customer=CustomerFactory(account_manager=bob), kind="complaint")  # not alice's

    figures = selectors.case_figures(user=alice)

    assert (figures["open"], figures["overdue"], figures["resolved_recently"]) == (2, 1, 3)
    assert figures["median_hours"] == pytest.approx(4)
    assert selectors.case_figures(user=bob)["open"] == 1


def test_case_lists_follow_visibility_and_views(customer, alice, bob, charlie):
    now = timezone.now()
    late = InteractionFactory(customer=customer, kind="complaint", occurred_at=now - timedelta(days=5), owner=alice)
    fresh = InteractionFactory(customer=customer, kind="complaint", owner=bob)
    InteractionFactory(customer=customer, kind="call")

    assert set(selectors.case_list(user=alice, view="open")) == {late, fresh}
    assert list(selectors.case_list(user=alice, view="overdue")) == [late]
    assert list(selectors.case_list(user=alice, view="mine")) == [late]
    assert list(selectors.case_list(user=bob, view="all")) == []
    assert list(selectors.case_list(user=charlie, view="all")) == []


def test_an_overdue_case_puts_a_reason_on_the_worklist(customer):
    InteractionFactory(
        customer=customer,
        kind="support_ticket",
        subject="Cannot log in",
        occurred_at=timezone.now() - timedelta(days=4),
    )
    signal = OverdueCaseSignal()
    row = signal.annotate(Customer.objects.filter(pk=customer.pk), today=timezone.localdate()).get()

    assert signal.reasons(row)[0].startswith("Support ticket overdue since")
    assert signal.reasons(row)[0].endswith(": Cannot log in")


# --- Email-in --------------------------------------------------------------------------------

SECRET = "user:s3cret"


@pytest.fixture
def webhook_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


def _postmark_inbound(sender: str, subject: str, text: str, message_id: str = "<m1@mail>", credentials=SECRET):
    body = {
        "FromFull": {"Email": sender, "Name": "Ann Example"},
        "ToFull": [{"Email": "complaints@crm.example.com", "Name": ""}],
        "Subject": subject,
        "TextBody": text,
        "Headers": [{"Name": "Message-ID", "Value": message_id}],
        "MessageID": "pm-1",
    }
    auth = "Basic " + base64.b64encode(credentials.encode()).decode()
    return Client().post(
        "/anymail/postmark/inbound/", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth
    )


def test_an_email_from_a_customer_becomes_a_complaint_on_their_record(customer, alice, webhook_secret):
    response = _postmark_inbound("ANN@example.com", "Broken <b>again</b>", "It broke.<script>x</script>")

    assert response.status_code == 200
    case = Interaction.objects.get(customer=customer)
    assert (case.kind, case.channel, case.direction, case.status, case.owner) == (
        "complaint",
        "email",
        "inbound",
        "open",
        alice,
    )
    assert case.subject == "Broken <b>again</b>" and case.body == "It broke.<script>x</script>"
    assert InboundEmail.objects.get().status == "matched"


def test_the_same_email_delivered_twice_is_recorded_once(customer, webhook_secret):
    _postmark_inbound("ann@example.com", "Broken", "text")
    _postmark_inbound("ann@example.com", "Broken", "text")

    assert Interaction.objects.filter(customer=customer).count() == 1
    assert InboundEmail.objects.count() == 1


def test_an_unknown_sender_waits_unmatched_for_an_administrator(customer, ada, webhook_secret):
    _postmark_inbound("stranger@example.net", "Who are you", "Hello", message_id="<m2@mail>")

    email = InboundEmail.objects.get()
    assert email.status == "unmatched" and email.interaction is None
    assert not Interaction.objects.exists()

    case = inbound_email_attach(email=email, customer=customer, by=ada)
    assert case.customer == customer and case.channel == "email"
    with pytest.raises(ValidationError, match="already been dealt with"):
        inbound_email_discard(email=email, by=ada)


def test_a_sender_several_customers_share_is_not_guessed(customer, alice):
    CustomerFactory(account_manager=alice, email="ann@example.com")
    email = inbound_email_record(sender="ann@example.com", subject="", text="Hi")
    assert email.status == "unmatched" and email.subject == "Email without a subject"


def test_bad_webhook_credentials_record_nothing(customer, webhook_secret):
    response = _postmark_inbound("ann@example.com", "Broken", "text", credentials="user:wrong")

    assert response.status_code in (400, 401, 403)
    assert not InboundEmail.objects.exists() and not Interaction.objects.exists()


def test_changes_are_deleted_with_their_case(customer, alice):
    case = _complaint(customer)
    services.complaint_status_set(complaint=case, status="in_progress", by=alice)
    case.delete()
    assert not InteractionChange.objects.exists()
