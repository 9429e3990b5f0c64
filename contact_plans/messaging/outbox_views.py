"""The local outbox in the browser (administrators only), and the "Messages" card of the
customer page.

With the local backends (``make run``, development) nothing leaves the machine: every email and
SMS is a LocalDelivery row, listed at /messaging/outbox/ as the customer would see it. The HTML
is served on its own URL into a sandboxed iframe: that response's CSP runs no script at all and
sandboxes the document (links open in a new tab), so a message's HTML cannot act on the CRM.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from contact_plans.models import LocalDelivery, Message
from customers import panels, roles

# The iframe's document: no script, nothing loaded but images, sandboxed; links may open a tab.
BODY_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src https: http: data:; "
    "style-src 'unsafe-inline'; frame-ancestors 'self'"
)
PAGE_SIZE = 20


def _administrator_or_404(request: HttpRequest) -> None:
    if not roles.is_administrator(request.user):
        raise Http404


@login_required
@require_GET
def local_outbox_page(request: HttpRequest) -> HttpResponse:
    _administrator_or_404(request)
    page = Paginator(LocalDelivery.objects.order_by("-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "contact_plans/messaging/local_outbox.html", {"page": page})


@login_required
@require_GET
@xframe_options_sameorigin
def local_outbox_body(request: HttpRequest, pk: int) -> HttpResponse:
    _administrator_or_404(request)
    delivery = get_object_or_404(LocalDelivery, pk=pk, channel="email")
    # Links open in a new tab (a sandboxed frame cannot navigate the CRM's page).
    response = HttpResponse('<base target="_blank">' + (delivery.html or ""), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = BODY_CSP
    response["Referrer-Policy"] = "no-referrer"
    return response


def messages_panel_context(request: HttpRequest, customer) -> dict:
    return {"messages": list(Message.objects.filter(customer=customer).order_by("-id")[:20])}


def panel_register() -> None:
    panels.register("messages", "contact_plans/messaging/_messages_panel.html", messages_panel_context, order=25)
