"""The browser UI of the customers app: who sees and changes what, the list, the customer file,
quick actions over htmx, forms, imports, and every page in every shipped language.

Personas: Alice owns the customers under test, Bob is a colleague (another account manager),
Charlie has no role, Marta is a marketer, Ada an administrator.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, ImportJob, ImportRowError, Interaction
from retention_crm import lists
from tests.clients import client_for

from .factories import CustomerFactory, InteractionFactory, OrderFactory, UserFactory, order_add_line

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def alices_customer(alice):
    return CustomerFactory(account_manager=alice, name="Ana Aguilar", country="ES", tags=["vip"])


@pytest.fixture
def bobs_customer(bob):
    return CustomerFactory(account_manager=bob, name="Budi Santoso", country="ID", language="id")


def detail_url(customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


def log_url(customer) -> str:
    return reverse("customers:interaction_log", args=[customer.pk])


def call_data(**overrides) -> dict:
    data = {
        "kind": "call",
        "subject": "Checked in after the delivery",
        "body": "Happy with the service.",
        "direction": "outbound",
        "channel": "phone",
        "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "sentiment": "1",
    }
    data.update(overrides)
    return data


def names_listed(response) -> set[str]:
    return {customer.name for customer in response.context["page"].object_list}


# --- List ---------------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_login_page():
    response = Client().get(reverse("customers:list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_owner_lists_their_book_and_not_a_colleagues(alice, alices_customer, bobs_customer):
    response = client_for(alice).get(reverse("customers:list"))

    assert response.status_code == 200
    assert names_listed(response) == {"Ana Aguilar"}
    assert "Budi Santoso" not in response.content.decode()


def test_colleague_lists_other_books_when_the_setting_allows(settings, bob, alices_customer, bobs_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True

    response = client_for(bob).get(reverse("customers:list"))

    assert names_listed(response) == {"Ana Aguilar", "Budi Santoso"}


def test_stranger_lists_no_customers(charlie, alices_customer):
    response = client_for(charlie).get(reverse("customers:list"))

    assert response.status_code == 200
    assert names_listed(response) == set()
    assert "Ana Aguilar" not in response.content.decode()


def test_marketer_lists_everyone_but_gets_no_new_customer_button(marta, alices_customer, bobs_customer):
    response = client_for(marta).get(reverse("customers:list"))

    assert names_listed(response) == {"Ana Aguilar", "Budi Santoso"}
    assert reverse("customers:create") not in response.content.decode()


def test_account_manager_gets_the_new_customer_button(alice):
    response = client_for(alice).get(reverse("customers:list"))

    assert reverse("customers:create") in response.content.decode()


def test_list_search_matches_name_email_and_company(ada):
    CustomerFactory(name="Siti Rahma", email="siti@kedai.id")
    CustomerFactory(name="Jordi Puig", company="Forn Puig")
    CustomerFactory(name="Other")
    client = client_for(ada)

    by_email = client.get(reverse("customers:list"), {"q": "kedai"})
    by_company = client.get(reverse("customers:list"), {"q": "forn"})

    assert names_listed(by_email) == {"Siti Rahma"}
    assert names_listed(by_company) == {"Jordi Puig"}


def test_list_filters_by_country_language_manager_tag_and_archived_state(ada, alice, bob):
    CustomerFactory(name="Spain", country="ES", account_manager=alice)
    CustomerFactory(name="Indonesia", country="ID", language="id", account_manager=bob, tags=["vip"])
    CustomerFactory(name="Gone", country="ES", archived_at=timezone.now())
    client = client_for(ada)
    url = reverse("customers:list")

    assert names_listed(client.get(url, {"country": "ES"})) == {"Spain"}
    assert names_listed(client.get(url, {"language": "id"})) == {"Indonesia"}
    assert names_listed(client.get(url, {"account_manager": alice.pk})) == {"Spain"}
    assert names_listed(client.get(url, {"tag": "vip"})) == {"Indonesia"}
    assert names_listed(client.get(url, {"archived": "archived"})) == {"Gone"}
    assert names_listed(client.get(url, {"archived": "all", "country": "ES"})) == {"Spain", "Gone"}


def test_list_sorts_by_a_column_and_the_header_link_reverses_it(ada):
    CustomerFactory(name="Alpha", country="ZA")
    CustomerFactory(name="Beta", country="AT")

    by_name_desc = client_for(ada).get(reverse("customers:list"), {"sort": "-name"})
    by_country = client_for(ada).get(reverse("customers:list"), {"sort": "country"})

    assert [c.name for c in by_name_desc.context["page"]] == ["Beta", "Alpha"]
    assert [c.name for c in by_country.context["page"]] == ["Beta", "Alpha"]
    assert 'aria-sort="ascending"' in by_country.content.decode()
    assert "sort=-country" in by_country.content.decode()


def test_list_pages_by_50_and_page_links_keep_the_filters(ada):
    CustomerFactory.create_batch(60, country="ES")
    CustomerFactory(country="FR")

    first = client_for(ada).get(reverse("customers:list"), {"country": "ES"})
    cursor = first.context["page"].next_cursor
    second = client_for(ada).get(reverse("customers:list"), {"country": "ES", "cursor": cursor})

    assert first.context["total"] == lists.Total(60, exact=True)
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 10
    assert f"?country=ES&amp;cursor={cursor}" in first.content.decode()
    assert "60 customers" in first.content.decode()


def test_list_answers_bad_query_input_with_the_page_not_a_500(ada, alices_customer):
    response = client_for(ada).get(
        reverse("customers:list"), {"account_manager": "abc", "page": "x", "sort": "password", "archived": "zzz"}
    )

    assert response.status_code == 200
    assert names_listed(response) == {"Ana Aguilar"}
    assert "is-invalid" in response.content.decode()


# --- Customer file ------------------------------------------------------------------------------


def test_owner_sees_the_customer_file_with_orders_timeline_and_quick_actions(alice, alices_customer):
    order = OrderFactory(customer=alices_customer, external_id="ORD-1")
    order_add_line(order, quantity=2, unit_price="12.50")
    InteractionFactory(customer=alices_customer, subject="Asked about delivery times")

    response = client_for(alice).get(detail_url(alices_customer))

    page = response.content.decode()
    assert response.status_code == 200
    assert "ORD-1" in page and "25.00" in page
    assert "Asked about delivery times" in page
    assert 'id="interaction-form"' in page
    assert reverse("customers:edit", args=[alices_customer.pk]) in page


def test_colleague_gets_404_on_another_books_customer(bob, alices_customer):
    response = client_for(bob).get(detail_url(alices_customer))

    assert response.status_code == 404


def test_colleague_reads_another_book_when_the_setting_allows_without_edit_controls(settings, bob, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True

    response = client_for(bob).get(detail_url(alices_customer))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="interaction-form"' not in page
    assert reverse("customers:edit", args=[alices_customer.pk]) not in page


def test_stranger_gets_404_on_the_customer_file(charlie, alices_customer):
    response = client_for(charlie).get(detail_url(alices_customer))

    assert response.status_code == 404
    assert "Ana Aguilar" not in response.content.decode()


def test_marketer_reads_the_customer_file_without_edit_controls(marta, alices_customer):
    response = client_for(marta).get(detail_url(alices_customer))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Ana Aguilar" in page
    assert 'id="interaction-form"' not in page
    assert reverse("customers:archive", args=[alices_customer.pk]) not in page


def test_customer_file_names_a_referrer_in_another_book_only_by_external_id(alice, bobs_customer):
    referred = CustomerFactory(account_manager=alice, referred_by=bobs_customer)

    response = client_for(alice).get(detail_url(referred))

    page = response.content.decode()
    assert bobs_customer.external_id in page
    assert "Budi Santoso" not in page


# --- Quick actions ------------------------------------------------------------------------------


def test_logging_a_call_over_htmx_returns_the_timeline_with_the_new_entry(alice, alices_customer):
    response = client_for(alice).post(log_url(alices_customer), call_data(), headers=HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="timeline"')
    assert "Checked in after the delivery" in page
    assert 'hx-swap-oob="true"' in page  # a fresh, empty form replaces the one just sent
    interaction = Interaction.objects.get(customer=alices_customer)
    assert (interaction.kind, interaction.author, interaction.sentiment) == ("call", alice, 1)


def test_logging_a_note_without_javascript_redirects_to_the_customer(alice, alices_customer):
    response = client_for(alice).post(log_url(alices_customer), call_data(kind="note", sentiment=""))

    assert response.status_code == 302
    assert response["Location"] == detail_url(alices_customer)
    assert Interaction.objects.get(customer=alices_customer).sentiment is None


def test_logging_without_a_subject_over_htmx_returns_the_form_with_the_error(alice, alices_customer):
    response = client_for(alice).post(log_url(alices_customer), call_data(subject=""), headers=HTMX)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#interaction-form"
    assert "This field is required." in response.content.decode()
    assert not Interaction.objects.exists()


def test_logging_with_a_bad_date_without_javascript_shows_the_page_with_the_error(alice, alices_customer):
    response = client_for(alice).post(log_url(alices_customer), call_data(occurred_at="yesterday-ish"))

    assert response.status_code == 200
    assert "Enter a valid date/time." in response.content.decode()


@pytest.mark.parametrize("persona", ["marta", "charlie", "bob"])
def test_only_the_owner_may_log_an_interaction_others_get_404(request, settings, persona, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True  # even a colleague who may read the customer
    user = request.getfixturevalue(persona)

    response = client_for(user).post(log_url(alices_customer), call_data(), headers=HTMX)

    assert response.status_code == 404
    assert not Interaction.objects.exists()


def test_resolving_an_open_complaint_over_htmx_marks_it_resolved(alice, alices_customer):
    complaint = InteractionFactory(customer=alices_customer, kind="complaint", subject="Parcel arrived broken")
    url = reverse("customers:interaction_resolve", args=[alices_customer.pk, complaint.pk])

    response = client_for(alice).post(url, headers=HTMX)

    complaint.refresh_from_db()
    assert response.status_code == 200
    assert complaint.resolved_at is not None
    assert "Resolved" in response.content.decode()


def test_resolving_a_call_answers_with_a_clear_message_not_a_500(alice, alices_customer):
    call = InteractionFactory(customer=alices_customer, kind="call")
    url = reverse("customers:interaction_resolve", args=[alices_customer.pk, call.pk])

    response = client_for(alice).post(url, headers=HTMX)

    assert response.status_code == 200
    assert "Only complaints and support tickets can be resolved." in response.content.decode()


def test_marketer_cannot_resolve_a_complaint(marta, alices_customer):
    complaint = InteractionFactory(customer=alices_customer, kind="complaint")
    url = reverse("customers:interaction_resolve", args=[alices_customer.pk, complaint.pk])

    response = client_for(marta).post(url)

    complaint.refresh_from_db()
    assert response.status_code == 404
    assert complaint.resolved_at is None


def test_csrf_is_enforced_on_posts(alice, alices_customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    refused = client.post(log_url(alices_customer), call_data())
    client.get(detail_url(alices_customer))  # sets the CSRF cookie, as the browser would
    token = client.cookies["csrftoken"].value
    accepted = client.post(log_url(alices_customer), call_data(), headers={**HTMX, "X-CSRFToken": token})

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert Interaction.objects.count() == 1


def test_the_page_sends_the_csrf_token_with_every_htmx_request(alice, alices_customer):
    response = client_for(alice).get(detail_url(alices_customer))

    assert 'hx-headers=\'{"X-CSRFToken": "' in response.content.decode()


# --- Create, edit, archive ----------------------------------------------------------------------


def customer_form_data(**overrides) -> dict:
    data = {
        "external_id": "NEW-1",
        "name": "Nur Aisyah",
        "email": "nur@example.com",
        "country": "MY",
        "language": "ms",
        "time_zone": "Asia/Kuala_Lumpur",
        "tags": "vip, wholesale",
        "referred_by": "",
        "consent_source": "",
    }
    data.update(overrides)
    return data


def test_account_managers_new_customer_goes_into_their_own_book(alice):
    response = client_for(alice).post(reverse("customers:create"), customer_form_data())

    customer = Customer.objects.get(external_id="NEW-1")
    assert response.status_code == 302
    assert response["Location"] == detail_url(customer)
    assert customer.account_manager == alice
    assert sorted(customer.tags.values_list("name", flat=True)) == ["vip", "wholesale"]


def test_administrator_chooses_the_account_manager_of_a_new_customer(ada, bob):
    client_for(ada).post(reverse("customers:create"), customer_form_data(account_manager=bob.pk))

    assert Customer.objects.get(external_id="NEW-1").account_manager == bob


def test_account_manager_is_not_offered_other_books(alice, bob):
    response = client_for(alice).get(reverse("customers:create"))

    assert "account_manager" not in response.context["form"].fields


@pytest.mark.parametrize("persona", ["marta", "charlie"])
def test_who_may_not_create_customers_gets_404(request, persona):
    user = request.getfixturevalue(persona)

    response = client_for(user).post(reverse("customers:create"), customer_form_data())

    assert response.status_code == 404
    assert not Customer.objects.exists()


def test_creating_with_a_taken_external_id_names_the_field(alice, alices_customer):
    response = client_for(alice).post(
        reverse("customers:create"), customer_form_data(external_id=alices_customer.external_id)
    )

    assert response.status_code == 200
    assert "external_id" in response.context["form"].errors


def test_referrer_is_chosen_by_external_id_with_a_clear_error_if_unknown(alice, alices_customer):
    response = client_for(alice).post(reverse("customers:create"), customer_form_data(referred_by="NOPE-9"))

    assert response.status_code == 200
    assert response.context["form"].errors["referred_by"] == ["No customer with the external id “NOPE-9” was found."]


def test_owner_edits_a_customer_with_tags_and_referrer(alice, alices_customer):
    referrer = CustomerFactory(account_manager=alice, external_id="REF-1")
    data = customer_form_data(external_id=alices_customer.external_id, name="Ana A.", tags="gold", referred_by="REF-1")

    response = client_for(alice).post(reverse("customers:edit", args=[alices_customer.pk]), data)

    alices_customer.refresh_from_db()
    assert response.status_code == 302
    assert alices_customer.name == "Ana A."
    assert alices_customer.referred_by == referrer
    assert list(alices_customer.tags.values_list("name", flat=True)) == ["gold"]
    assert alices_customer.account_manager == alice


def test_edit_form_shows_current_tags_and_referrer(alice, alices_customer):
    alices_customer.referred_by = CustomerFactory(account_manager=alice, external_id="REF-2")
    alices_customer.save()

    form = client_for(alice).get(reverse("customers:edit", args=[alices_customer.pk])).context["form"]

    assert form["tags"].value() == "vip"
    assert form["referred_by"].value() == "REF-2"


def test_edit_refuses_a_customer_as_their_own_referrer(alice, alices_customer):
    data = customer_form_data(external_id=alices_customer.external_id, referred_by=alices_customer.external_id)

    response = client_for(alice).post(reverse("customers:edit", args=[alices_customer.pk]), data)

    assert response.context["form"].errors["referred_by"] == ["A customer cannot refer themselves."]


def test_consent_given_in_the_form_is_recorded_with_date_and_source(alice):
    client_for(alice).post(reverse("customers:create"), customer_form_data(marketing_consent="on"))

    customer = Customer.objects.get(external_id="NEW-1")
    assert customer.marketing_consent and customer.consent_at and customer.consent_source


@pytest.mark.parametrize("persona", ["marta", "charlie", "bob"])
def test_only_the_owner_may_edit_others_get_404(request, settings, persona, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    user = request.getfixturevalue(persona)
    url = reverse("customers:edit", args=[alices_customer.pk])

    shown = client_for(user).get(url)
    sent = client_for(user).post(url, customer_form_data(external_id=alices_customer.external_id, name="Hacked"))

    alices_customer.refresh_from_db()
    assert (shown.status_code, sent.status_code) == (404, 404)
    assert alices_customer.name == "Ana Aguilar"


def test_owner_archives_and_restores_a_customer(alice, alices_customer):
    client = client_for(alice)

    archived = client.post(reverse("customers:archive", args=[alices_customer.pk]))
    alices_customer.refresh_from_db()
    was_archived = alices_customer.is_archived
    client.post(reverse("customers:restore", args=[alices_customer.pk]))
    alices_customer.refresh_from_db()

    assert archived.status_code == 302
    assert was_archived
    assert not alices_customer.is_archived


def test_archive_is_post_only(alice, alices_customer):
    response = client_for(alice).get(reverse("customers:archive", args=[alices_customer.pk]))

    alices_customer.refresh_from_db()
    assert response.status_code == 405
    assert not alices_customer.is_archived


@pytest.mark.parametrize("persona", ["marta", "charlie", "bob"])
def test_only_the_owner_may_archive_others_get_404(request, settings, persona, alices_customer):
    settings.ACCOUNT_MANAGERS_SEE_ALL_BOOKS = True
    user = request.getfixturevalue(persona)

    response = client_for(user).post(reverse("customers:archive", args=[alices_customer.pk]))

    alices_customer.refresh_from_db()
    assert response.status_code == 404
    assert not alices_customer.is_archived


# --- Imports ------------------------------------------------------------------------------------


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def csv_upload(content: bytes = b"external_id,name\nC1,Ana\n", name: str = "customers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.mark.parametrize("persona", ["alice", "ada"])
def test_administrators_and_account_managers_see_the_import_page(request, persona):
    user = request.getfixturevalue(persona)

    response = client_for(user).get(reverse("customers:imports"))

    assert response.status_code == 200
    assert "referred_by (external id)" in response.content.decode()  # the format's columns are described


@pytest.mark.parametrize("persona", ["marta", "charlie"])
def test_who_may_not_import_gets_404(request, persona, media_root):
    user = request.getfixturevalue(persona)

    shown = client_for(user).get(reverse("customers:imports"))
    sent = client_for(user).post(reverse("customers:imports"), {"format": "customers", "file": csv_upload()})

    assert (shown.status_code, sent.status_code) == (404, 404)
    assert not ImportJob.objects.exists()


def test_uploading_a_file_queues_a_job_and_opens_its_page(alice, media_root):
    response = client_for(alice).post(reverse("customers:imports"), {"format": "customers", "file": csv_upload()})

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:import_detail", args=[job.pk])
    assert (job.created_by, job.format, job.original_name) == (alice, "customers", "customers.csv")


def test_uploading_a_too_big_file_shows_a_clear_error(settings, alice, media_root):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10

    response = client_for(alice).post(reverse("customers:imports"), {"format": "customers", "file": csv_upload()})

    assert response.status_code == 200
    assert "the limit for an upload is" in response.context["form"].errors["file"][0]
    assert "the limit for an upload is" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_uploading_without_a_file_names_the_missing_field(alice, media_root):
    response = client_for(alice).post(reverse("customers:imports"), {"format": "customers"})

    assert response.status_code == 200
    assert "file" in response.context["form"].errors


def finished_job(user, **fields) -> ImportJob:
    defaults = {
        "format": ImportJob.Format.CUSTOMERS_CSV,
        "original_name": "book.csv",
        "path": "/nonexistent",
        "created_by": user,
        "status": ImportJob.Status.SUCCEEDED,
        "finished_at": timezone.now(),
        "rows_read": 3,
        "created_count": 1,
        "error_count": 2,
    }
    defaults.update(fields)
    return ImportJob.objects.create(**defaults)


def test_a_running_job_page_polls_its_progress_every_second(alice):
    job = finished_job(alice, status=ImportJob.Status.RUNNING, finished_at=None, total_bytes=100, processed_bytes=50)

    response = client_for(alice).get(reverse("customers:import_detail", args=[job.pk]))

    page = response.content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert reverse("customers:import_progress", args=[job.pk]) in page
    assert 'aria-valuenow="45"' in page


def test_a_finished_job_stops_polling_and_shows_its_report(alice):
    job = finished_job(alice)
    ImportRowError.objects.create(job=job, line=3, column="email", reason="email is not a valid email address")

    response = client_for(alice).get(reverse("customers:import_progress", args=[job.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "hx-trigger" not in page
    assert "email is not a valid email address" in page
    assert reverse("customers:import_report", args=[job.pk]) in page


def test_a_refused_job_shows_why(alice):
    job = finished_job(alice, status=ImportJob.Status.FAILED, message="The file is not UTF-8 text.")

    response = client_for(alice).get(reverse("customers:import_detail", args=[job.pk]))

    assert "The file is not UTF-8 text." in response.content.decode()


def test_the_report_downloads_as_csv(alice):
    job = finished_job(alice)
    ImportRowError.objects.create(job=job, line=3, column="email", reason="bad email")

    response = client_for(alice).get(reverse("customers:import_report", args=[job.pk]))

    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode().splitlines() == ["line,column,reason", "3,email,bad email"]


@pytest.mark.parametrize("name", ["customers:import_detail", "customers:import_progress", "customers:import_report"])
def test_another_users_import_is_404_for_a_colleague_but_visible_to_an_administrator(name, alice, bob, ada):
    job = finished_job(alice)
    url = reverse(name, args=[job.pk])

    assert client_for(bob).get(url).status_code == 404
    assert client_for(ada).get(url).status_code == 200


def test_import_list_shows_only_the_users_own_jobs(alice, bob):
    finished_job(alice, original_name="alice.csv")
    finished_job(bob, original_name="bob.csv")

    page = client_for(alice).get(reverse("customers:imports")).content.decode()

    assert "alice.csv" in page
    assert "bob.csv" not in page


# --- Every page, every language -----------------------------------------------------------------


@pytest.fixture
def full_workspace(ada, alice):
    customer = CustomerFactory(
        account_manager=alice,
        tags=["vip"],
        marketing_consent=True,
        consent_at=timezone.now(),
        consent_source="web_form",
        referred_by=CustomerFactory(),
        notes="Prefers mornings",
    )
    order = OrderFactory(customer=customer)
    order_add_line(order, quantity=3, unit_price="9.99")
    InteractionFactory(customer=customer, kind="complaint", sentiment=-1, body="Late parcel")
    InteractionFactory(customer=customer, kind="meeting", occurred_at=timezone.now() - timedelta(days=3))
    done = finished_job(ada)
    ImportRowError.objects.create(job=done, line=2, column="name", reason="name is required")
    running = finished_job(ada, status=ImportJob.Status.RUNNING, finished_at=None)
    return {"customer": customer, "done": done, "running": running}


PAGES = [
    ("home", lambda w: []),
    ("customers:list", lambda w: []),
    ("customers:create", lambda w: []),
    ("customers:detail", lambda w: [w["customer"].pk]),
    ("customers:edit", lambda w: [w["customer"].pk]),
    ("customers:export_customers", lambda w: []),
    ("customers:export_orders", lambda w: []),
    ("customers:imports", lambda w: []),
    ("customers:import_detail", lambda w: [w["done"].pk]),
    ("customers:import_detail", lambda w: [w["running"].pk]),
    ("customers:import_progress", lambda w: [w["running"].pk]),
    ("customers:import_report", lambda w: [w["done"].pk]),
    ("password_change", lambda w: []),
    ("password_change_done", lambda w: []),
]


@pytest.mark.parametrize("language", ["en", "id", "ms", "ca"])
@pytest.mark.parametrize(("name", "args"), PAGES, ids=[f"{n}-{i}" for i, (n, _a) in enumerate(PAGES)])
def test_every_page_answers_200_in_every_language(settings, language, name, args, ada, full_workspace):
    client = client_for(ada)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    response = client.get(reverse(name, args=args(full_workspace)), follow=True)

    assert response.status_code == 200
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    elif b"<html" in response.content:
        assert f'<html lang="{language}">' in response.content.decode()


@pytest.mark.parametrize("language", ["en", "id", "ms", "ca"])
def test_login_and_logged_out_pages_render_in_every_language(settings, language, alice):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    login = client.get(reverse("login"))
    client.force_login(alice)
    logout = client.post(reverse("logout"), follow=True)

    assert login.status_code == 200
    assert logout.status_code == 200
    assert logout.redirect_chain[-1][0] == reverse("login")


def test_language_switcher_posts_every_shipped_language(settings, alice):
    page = client_for(alice).get(reverse("customers:list")).content.decode()

    assert f'action="{reverse("set_language")}"' in page
    for code, _name in settings.LANGUAGES:
        assert f'value="{code}"' in page


def test_navigation_shows_imports_and_admin_by_role(alice, marta, ada):
    imports, admin = reverse("customers:imports"), reverse("admin:index")

    for_alice = client_for(alice).get(reverse("customers:list")).content.decode()
    for_marta = client_for(marta).get(reverse("customers:list")).content.decode()
    for_ada = client_for(ada).get(reverse("customers:list")).content.decode()

    assert imports in for_alice and admin not in for_alice
    assert imports not in for_marta and admin not in for_marta
    assert imports in for_ada and admin in for_ada


def test_user_factory_personas_can_log_in_with_a_password():
    user = UserFactory(username="dewi")

    assert Client().login(username="dewi", password="pw")
    assert user.pk
