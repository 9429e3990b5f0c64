"""The browser UI of segments: list, detail (members, entries and exits, size over time, CSV),
and the rule builder with its live preview.

Every role may read segments; members are those the user may see (customer_visible_to). Only
administrators and marketers create, change, delete and refresh; to anyone else those pages are a
404, and the read pages show no edit controls. Someone without a role gets a 404 everywhere.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers import roles
from customers.models import Customer
from customers.selectors import keyset_chunks
from retention_crm import formats, lists
from retention_crm.csv import csv_stream, dated_filename

from . import selectors, services
from .conditions import definition_describe, segment_definition_clean
from .forms import (
    BuilderContext,
    SegmentForm,
    apply_action,
    attach_errors,
    tree_from_definition,
    tree_from_post,
    tree_to_definition,
)
from .models import Segment

logger = logging.getLogger(__name__)

MEMBERS_PAGE_SIZE = 50
EVENTS_SHOWN = 50
# Rows fetched per query while streaming an export: a few MB of memory at most, and few round trips.
EXPORT_CHUNK_SIZE = 2000
MEMBER_CSV_COLUMNS = ("external_id", "name", "email", "country", "account_manager", "entered_at")


def _segment_or_404(user, pk: int) -> Segment:
    try:
        return selectors.segment_get(user=user, segment_id=pk)
    except Segment.DoesNotExist:
        raise Http404 from None


def _editable_or_404(user, pk: int) -> Segment:
    segment = selectors.segment_editable_by(user).filter(pk=pk).first()
    if segment is None:
        raise Http404
    return segment


def _editor_or_404(user) -> None:
    if not selectors.segment_can_edit(user):
        raise Http404


def _role_or_404(user) -> None:
    if not roles.has_any_role(user):
        raise Http404


# --- List and detail -----------------------------------------------------------------------------


def _sparkline_points(sizes: list[int], width: int = 100, height: int = 24) -> str:
    """SVG polyline points for a small trend line; "" with fewer than two sizes."""
    if len(sizes) < 2:
        return ""
    low, high = min(sizes), max(sizes)
    span = (high - low) or 1
    step = width / (len(sizes) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (size - low) / span * (height - 4):.1f}" for i, size in enumerate(sizes)
    )


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    _role_or_404(request.user)
    segments = selectors.segment_list(user=request.user)
    for segment in segments:
        segment.sparkline_points = _sparkline_points(segment.sparkline)
    context = {
        "builtins": [segment for segment in segments if segment.is_builtin],
        "rules": [segment for segment in segments if not segment.is_builtin],
        "may_edit": selectors.segment_can_edit(request.user),
        "whole_counts": roles.sees_every_book(request.user),
    }
    return render(request, "segmentation/segment_list.html", context)


def _size_chart(segment: Segment) -> dict | None:
    history = selectors.segment_size_history(segment=segment)
    if not history:
        return None
    return {
        "type": "line",
        "labels": [formats.format_datetime(row.at) for row in history],
        "datasets": [{"label": _("Members"), "data": [row.size for row in history], "color": "#0d6efd", "fill": True}],
        "y": {"suggestedMin": 0, "title": _("Members")},
    }


@login_required
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment_or_404(request.user, pk)
    members = selectors.segment_members(user=request.user, segment=segment)
    whole_counts = roles.sees_every_book(request.user)
    order = lists.Order.of(Customer, ["name", "id"])
    context = {
        "segment": segment,
        "description_words": definition_describe(segment.definition) if segment.definition else "",
        "page": lists.page_from_cursor(members, order, request.GET.get("cursor"), size=MEMBERS_PAGE_SIZE),
        # The size the last refresh counted, or the members of the user's book (a bounded count).
        "total": lists.Total(segment.member_count, exact=True) if whole_counts else lists.total(members),
        "events": selectors.segment_events(user=request.user, segment=segment)[:EVENTS_SHOWN],
        "chart": _size_chart(segment) if whole_counts else None,  # the history counts the whole segment
        "may_edit": selectors.segment_can_edit(request.user),
        "whole_counts": whole_counts,
    }
    return render(request, "segmentation/segment_detail.html", context)


@login_required
def segment_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    segment = _segment_or_404(request.user, pk)
    members = selectors.segment_members(user=request.user, segment=segment).order_by("pk")
    logger.info("segmentation.export segment=%s user=%s", segment.pk, request.user.pk)
    rows = (
        (
            customer.external_id,
            customer.name,
            customer.email,
            customer.country,
            customer.account_manager.username if customer.account_manager else "",
            customer.entered_at,
        )
        # Keyset chunks, not .iterator(): a server-side cursor outside a transaction is WITH HOLD,
        # which PostgreSQL runs to the end before the first row, and the download would wait for it.
        for chunk in keyset_chunks(members, field="id", size=EXPORT_CHUNK_SIZE)
        for customer in chunk
    )
    return csv_stream(filename=dated_filename(f"segment-{segment.pk}"), header=MEMBER_CSV_COLUMNS, rows=rows)


@login_required
@require_POST
def segment_refresh_view(request: HttpRequest, pk: int) -> HttpResponse:
    _editor_or_404(request.user)
    segment = _segment_or_404(request.user, pk)
    services.segment_refresh_queue(segment_id=segment.pk)
    messages.success(request, _("The refresh is queued; the members update in a moment."))
    return redirect(segment)


@login_required
@require_POST
def segment_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _editable_or_404(request.user, pk)
    try:
        services.segment_delete(segment=segment)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(segment)
    messages.success(request, _("The segment is deleted."))
    return redirect("segments:list")


# --- Builder -------------------------------------------------------------------------------------


def _builder_page(request: HttpRequest, *, segment: Segment | None) -> HttpResponse:
    """Create (segment None) or edit. GET draws the form; POST with an "action" other than save
    changes the tree and draws it again (the no-JavaScript path); POST save validates everything
    and saves in one transaction, or draws every error in place."""
    if request.method != "POST":
        initial = _initial(request, segment)
        form = SegmentForm(initial=initial["form"])
        return _render_builder(request, segment=segment, form=form, tree=tree_from_definition(initial["definition"]))
    form = SegmentForm(request.POST)
    tree = tree_from_post(request.POST)
    action = request.POST.get("action", "save")
    if action != "save":
        apply_action(tree, action)
        return _render_builder(request, segment=segment, form=form, tree=tree, bound=False)
    unplaced: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        arguments = {
            "name": data["name"],
            "description": data["description"],
            "definition": tree_to_definition(tree),
            "is_active": data["is_active"],
        }
        try:
            if segment is None:
                saved = services.segment_create(user=request.user, **arguments)
            else:
                saved = services.segment_update(segment=segment, **arguments)
        except ValidationError as exc:
            form.add_service_errors(exc)
            unplaced = attach_errors(tree, exc) if hasattr(exc, "error_dict") else []
        else:
            messages.success(request, _("The segment is saved; its members are being refreshed."))
            return redirect(saved)
    else:
        # Show the definition's errors too, not only the name's.
        unplaced = _definition_errors(tree, segment)
    return _render_builder(request, segment=segment, form=form, tree=tree, unplaced=unplaced)


def _definition_errors(tree, segment) -> list[str]:
    try:
        segment_definition_clean(tree_to_definition(tree), segment_id=segment.pk if segment else None)
    except ValidationError as exc:
        return attach_errors(tree, exc)
    return []


def _initial(request: HttpRequest, segment: Segment | None) -> dict:
    if segment is not None:
        return {
            "form": {"name": segment.name, "description": segment.description, "is_active": segment.is_active},
            "definition": segment.definition,
        }
    # "Copy to a new segment" from any segment the user can see (a built-in included).
    source_id = request.GET.get("from", "")
    if source_id.isdigit():
        source = selectors.segment_visible_to(request.user).filter(pk=int(source_id)).first()
        if source is not None:
            name = _("%(name)s (copy)") % {"name": source.display_name}
            return {
                "form": {"name": name, "description": source.description, "is_active": True},
                "definition": source.definition,
            }
    return {"form": {"is_active": True}, "definition": None}


def _render_builder(
    request: HttpRequest, *, segment: Segment | None, form: SegmentForm, tree, unplaced=(), bound: bool = True
) -> HttpResponse:
    builder = BuilderContext()
    context = {
        "segment": segment,
        "form": form,
        # After an add/remove without JavaScript the form is redrawn, not judged: no errors yet.
        "show_errors": bound,
        "tree": builder.annotate(tree),
        "builder": builder,
        "unplaced_errors": list(unplaced),
    }
    return render(request, "segmentation/segment_form.html", context)


@login_required
def segment_create_view(request: HttpRequest) -> HttpResponse:
    _editor_or_404(request.user)
    return _builder_page(request, segment=None)


@login_required
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _editable_or_404(request.user, pk)
    return _builder_page(request, segment=segment)


@login_required
@require_POST
def builder_tree(request: HttpRequest) -> HttpResponse:
    """htmx: the tree after a field or operator change, or an add/remove button."""
    _editor_or_404(request.user)
    tree = tree_from_post(request.POST)
    apply_action(tree, request.POST.get("action", ""))
    builder = BuilderContext()
    response = render(request, "segmentation/_builder_tree.html", {"tree": builder.annotate(tree), "builder": builder})
    # The preview listens for this and asks again with the new tree.
    response["HX-Trigger-After-Settle"] = "segment-tree-changed"
    return response


@login_required
@require_POST
def builder_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the count and a sample of the customers the posted tree selects, or what is wrong."""
    _editor_or_404(request.user)
    tree = tree_from_post(request.POST)
    segment_id = request.POST.get("segment_id", "")
    context = {"preview": None, "errors": []}
    try:
        definition = segment_definition_clean(
            tree_to_definition(tree), segment_id=int(segment_id) if segment_id.isdigit() else None
        )
    except ValidationError as exc:
        context["errors"] = sorted({message for messages in exc.message_dict.values() for message in messages})
    else:
        context["preview"] = selectors.segment_preview(user=request.user, definition=definition)
        context["words"] = definition_describe(definition)
    return render(request, "segmentation/_preview.html", context)
