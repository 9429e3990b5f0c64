"""The browser UI of the customers app: list, customer file, edit, exports and imports.

Every view starts from the selectors (who may see or edit what) and answers 404, never 403,
to someone who may not see the record.
"""

import logging
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from retention_crm import lists
from retention_crm.csv import csv_stream, dated_filename
from retention_crm.http import is_htmx

from . import panels, roles, selectors, services
from .forms import CaseResolveForm, CustomerFilterForm, CustomerForm, ImportUploadForm, InteractionForm
from .imports.formats import CUSTOMER_OPTIONAL, CUSTOMER_REQUIRED
from .imports.services import import_job_create, import_report_csv, import_sample
from .models import Customer, ImportJob, OrderLine

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
# Rows (customers, or orders with their lines) fetched per query while streaming an export: a few MB
# of memory at most, few round trips, and the first of them read in well under a second.
EXPORT_CHUNK_SIZE = 2000
IMPORT_ERRORS_SHOWN = 200

# The customers import reads exactly these columns, so an export can be imported again.
CUSTOMER_CSV_COLUMNS = CUSTOMER_REQUIRED + CUSTOMER_OPTIONAL
# Named as the orders import names them (order_id and customer_id are external ids).
ORDER_CSV_COLUMNS = (
    "order_id",
    "customer_id",
    "ordered_at",
    "currency",
    "kind",
    "status",
    "refunded_amount",
    "sku",
    "quantity",
    "unit_price",
    "amount",
)


def _may_create_customers(user) -> bool:
    return roles.is_administrator(user) or roles.is_account_manager(user)


def _customer_visible_or_404(user, pk: int) -> Customer:
    try:
        return selectors.customer_get(user=user, customer_id=pk)
    except Customer.DoesNotExist:
        raise Http404 from None


def _customer_editable_or_404(user, pk: int) -> Customer:
    return get_object_or_404(selectors.customer_editable_by(user), pk=pk)


# --- List ---------------------------------------------------------------------------------------


def _sort_headers(ordering: str) -> dict[str, dict]:
    """For each sortable column: the ordering its header link applies, and its aria-sort state."""
    headers = {}
    for field in ("name", "country", "acquired_at", "created_at"):
        state = "ascending" if ordering == field else "descending" if ordering == f"-{field}" else "none"
        headers[field] = {"next": f"-{field}" if state == "ascending" else field, "state": state}
    return headers


@login_required
def customer_list_view(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET, user=request.user)
    customers = selectors.customer_list(
        user=request.user, search=form.search, filters=form.filters, ordering=form.ordering
    ).prefetch_related("tags")
    # Keyset pages (an index range each, however deep) and a total counted only while it is cheap.
    order = lists.Order.of(Customer, form.ordering)
    context = {
        "form": form,
        "page": lists.page_from_cursor(customers, order, request.GET.get("cursor"), size=PAGE_SIZE),
        "total": lists.total(customers),
        "sort": _sort_headers(form.ordering),
        "may_create": _may_create_customers(request.user),
    }
    return render(request, "customers/customer_list.html", context)


# --- Customer file ------------------------------------------------------------------------------


def _customer_context(request: HttpRequest, customer: Customer, **extra) -> dict:
    can_edit = selectors.customer_can_edit(user=request.user, customer=customer)
    context = {
        "customer": customer,
        "can_edit": can_edit,
        "orders": selectors.order_list_for_customer(customer=customer),
        "order_summary": selectors.order_summary_for_customer(customer=customer),
        "timeline": selectors.interaction_timeline(customer=customer),
        "referrer_visible": selectors.customer_is_visible(user=request.user, customer_id=customer.referred_by_id),
        "interaction_form": InteractionForm() if can_edit else None,
        # Cards of other apps (metrics, loyalty, surveys), registered in their AppConfig.ready().
        "panels": panels.panels_for(request, customer),
    }
    context.update(extra)
    return context


@login_required
def customer_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer_visible_or_404(request.user, pk)
    return render(request, "customers/customer_detail.html", _customer_context(request, customer))


def _timeline_response(
    request: HttpRequest, customer: Customer, *, fresh_form: bool, error: str = "", **extra
) -> HttpResponse:
    context = {
        "customer": customer,
        "can_edit": True,
        "timeline": selectors.interaction_timeline(customer=customer),
        "interaction_form": InteractionForm() if fresh_form else None,
        "timeline_error": error,
        **extra,
    }
    return render(request, "customers/_timeline_response.html", context)


@login_required
@require_POST
def interaction_log_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer_editable_or_404(request.user, pk)
    form = InteractionForm(request.POST)
    if form.is_valid():
        try:
            services.interaction_log(customer=customer, author=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
    if not form.errors:
        if is_htmx(request):
            return _timeline_response(request, customer, fresh_form=True)
        messages.success(request, _("The interaction is logged."))
        return redirect(customer)
    if is_htmx(request):
        response = render(request, "customers/_interaction_form.html", {"customer": customer, "interaction_form": form})
        response["HX-Retarget"] = "#interaction-form"
        response["HX-Reswap"] = "outerHTML"
        return response
    customer = _customer_visible_or_404(request.user, pk)
    return render(
        request, "customers/customer_detail.html", _customer_context(request, customer, interaction_form=form)
    )


@login_required
@require_POST
def interaction_resolve_view(request: HttpRequest, pk: int, interaction_pk: int) -> HttpResponse:
    """Resolve a case from the customer's timeline, with its resolution (as the complaints page and
    the API require): a small form under the case, sent by htmx or as a plain POST."""
    customer = _customer_editable_or_404(request.user, pk)
    interaction = get_object_or_404(customer.interactions, pk=interaction_pk)
    form = CaseResolveForm(request.POST)
    error = ""
    if not interaction.is_case:
        error = _("Only complaints, support tickets and reviews can be resolved.")
    elif form.is_valid():
        try:
            services.complaint_resolve(
                complaint=interaction, resolution=form.cleaned_data["resolution"], by=request.user
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "resolution" in exc.error_dict:
                form.add_service_errors(exc)
            else:
                error = " ".join(exc.messages)
    if not error and not form.errors:
        if is_htmx(request):
            return _timeline_response(request, customer, fresh_form=False)
        messages.success(request, _("Marked as resolved."))
        return redirect(customer)
    if is_htmx(request):
        # The form stays open under its case, with what was typed and the message.
        return _timeline_response(
            request, customer, fresh_form=False, error=error, resolve_form=form, resolving=interaction.pk
        )
    if error:
        messages.error(request, error)
        return redirect(customer)
    customer = _customer_visible_or_404(request.user, pk)  # with the figures the page shows
    context = _customer_context(request, customer, resolve_form=form, resolving=interaction.pk)
    return render(request, "customers/customer_detail.html", context, status=400)


# --- Create, edit, archive ----------------------------------------------------------------------


@login_required
def customer_create_view(request: HttpRequest) -> HttpResponse:
    if not _may_create_customers(request.user):
        raise Http404
    form = CustomerForm(request.POST if request.method == "POST" else None, user=request.user)
    if form.is_valid():
        data = form.service_data()
        # Only administrators choose the book; an account manager's new customer is theirs.
        data.setdefault("account_manager", request.user)
        try:
            customer = services.customer_create(**data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Customer %(name)s is created.") % {"name": customer.name})
            return redirect(customer)
    return render(request, "customers/customer_form.html", {"form": form, "customer": None})


@login_required
def customer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer_editable_or_404(request.user, pk)
    form = CustomerForm(request.POST if request.method == "POST" else None, instance=customer, user=request.user)
    if form.is_valid():
        try:
            customer, changed = services.customer_update(customer=customer, **form.service_data())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if changed:
                messages.success(request, _("The changes are saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect(customer)
    return render(request, "customers/customer_form.html", {"form": form, "customer": customer})


@login_required
@require_POST
def customer_archive_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = services.customer_archive(customer=_customer_editable_or_404(request.user, pk))
    messages.success(request, _("The customer is archived. Restore them from their page at any time."))
    return redirect(customer)


@login_required
@require_POST
def customer_restore_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = services.customer_restore(customer=_customer_editable_or_404(request.user, pk))
    messages.success(request, _("The customer is active again."))
    return redirect(customer)


# --- Exports ---------------------------------------------------------------------------------


def _customer_csv_row(customer: Customer) -> list:
    return [
        customer.external_id,
        customer.name,
        customer.email,
        customer.phone,
        customer.company,
        customer.country,
        customer.language,
        customer.time_zone,
        customer.account_manager.username if customer.account_manager else "",
        customer.acquired_at,
        customer.acquisition_source,
        customer.referred_by.external_id if customer.referred_by else "",
        ";".join(sorted(tag.name for tag in customer.tags.all())),
        customer.marketing_consent,
        customer.consent_at,
        customer.consent_source,
        customer.notes,
        customer.birth_date,
    ]


def _order_line_csv_row(line: OrderLine) -> list:
    order = line.order
    return [
        order.external_id,
        order.customer.external_id,
        order.ordered_at,
        order.currency,
        order.kind,
        order.status,
        order.refunded_amount,
        line.product.sku,
        line.quantity,
        line.unit_price,
        line.amount,
    ]


def _list_arguments(request: HttpRequest) -> dict:
    """The list's search, filters and ordering, so that an export holds what the list shows."""
    form = CustomerFilterForm(request.GET, user=request.user)
    return {"user": request.user, "search": form.search, "filters": form.filters, "ordering": form.ordering}


@login_required
def customer_export_view(request: HttpRequest) -> StreamingHttpResponse:
    # Lazy: the header goes out before the first chunk is read, each chunk as the client takes it.
    chunks = selectors.customer_export_chunks(**_list_arguments(request), size=EXPORT_CHUNK_SIZE)
    logger.info("customers.export kind=customers user=%s", request.user.pk)
    rows = (_customer_csv_row(customer) for chunk in chunks for customer in chunk)
    return csv_stream(filename=dated_filename("customers"), header=CUSTOMER_CSV_COLUMNS, rows=rows)


@login_required
def order_export_view(request: HttpRequest) -> StreamingHttpResponse:
    customers = selectors.customer_list(**_list_arguments(request))
    chunks = selectors.order_line_export_chunks(customers=customers, size=EXPORT_CHUNK_SIZE)
    logger.info("customers.export kind=orders user=%s", request.user.pk)
    rows = (_order_line_csv_row(line) for chunk in chunks for line in chunk)
    return csv_stream(filename=dated_filename("orders"), header=ORDER_CSV_COLUMNS, rows=rows)


# --- Imports ------------------------------------------------------------------------------------


def _may_import_or_404(user) -> None:
    if not (roles.is_administrator(user) or roles.is_account_manager(user)):
        raise Http404


def _import_job_or_404(user, job_id: uuid.UUID) -> ImportJob:
    _may_import_or_404(user)
    return get_object_or_404(selectors.import_job_visible_to(user), pk=job_id)


@login_required
def import_list_view(request: HttpRequest) -> HttpResponse:
    _may_import_or_404(request.user)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_create(
                user=request.user, uploaded_file=form.cleaned_data["file"], format=form.cleaned_data["format"]
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            # No flash message: the job's page says the file is uploaded while it runs, and a message
            # would stay above the outcome (a green "uploaded" above a red "refused").
            return redirect("customers:import_detail", job_id=job.pk)
    jobs = selectors.import_job_visible_to(request.user).select_related("created_by")[:50]
    return render(request, "customers/import_list.html", {"form": form, "jobs": jobs})


def _import_context(job: ImportJob) -> dict:
    return {"job": job, "row_errors": job.row_errors.all()[:IMPORT_ERRORS_SHOWN] if job.is_finished else []}


@login_required
def import_detail_view(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _import_job_or_404(request.user, job_id)
    return render(request, "customers/import_detail.html", _import_context(job))


@login_required
def import_progress_view(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _import_job_or_404(request.user, job_id)
    return render(request, "customers/_import_progress.html", _import_context(job))


@login_required
def import_sample_view(request: HttpRequest, format: str) -> HttpResponse:  # noqa: A002
    """A small file of the format that imports cleanly (orders: after the customers sample)."""
    _may_import_or_404(request.user)
    try:
        name, content = import_sample(format=format)
    except KeyError:
        raise Http404 from None
    response = HttpResponse(
        content, content_type="text/csv; charset=utf-8" if name.endswith(".csv") else "text/plain; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def import_report_view(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _import_job_or_404(request.user, job_id)
    response = HttpResponse(import_report_csv(job=job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response
