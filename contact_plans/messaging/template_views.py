"""The browser UI of message templates: the list, the editor, the placeholders they may use, the
preview for a chosen customer in each language, and a test send to oneself.

Administrators and marketers create and edit templates and test-send them; account managers read
and preview them (for customers they may see), and see the editor read-only; anyone else gets a
404, as does a preview for a customer the user may not see.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from customers.models import Customer
from retention_crm import message_placeholders

from ..models import MessageTemplate
from . import template_selectors as selectors
from . import template_services as services
from .channels import DeliveryFailure
from .rendering import RenderError, render_message
from .template_forms import MessageTemplateForm, PreviewForm

# The preview's HTML document is a page of its own, framed by the preview page: it may show the
# email's images (https) and inline styles, and nothing in it may run (sandbox, no script-src).
PREVIEW_BODY_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src https: data:; "
    "style-src 'unsafe-inline'; frame-ancestors 'self'"
)


def _readable_or_404(user) -> None:
    if not selectors.template_can_read(user):
        raise Http404


def _editor_or_404(user) -> None:
    if not selectors.template_can_edit(user):
        raise Http404


def _template_or_404(user, pk: int) -> MessageTemplate:
    try:
        return selectors.template_get(user=user, template_id=pk)
    except MessageTemplate.DoesNotExist:
        raise Http404 from None


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    _readable_or_404(request.user)
    context = {
        "templates": selectors.template_list(user=request.user),
        "may_edit": selectors.template_can_edit(request.user),
    }
    return render(request, "contact_plans/messaging/template_list.html", context)


@login_required
def placeholder_list(request: HttpRequest) -> HttpResponse:
    _readable_or_404(request.user)
    return render(
        request,
        "contact_plans/messaging/placeholder_list.html",
        {"placeholders": message_placeholders.placeholders()},
    )


def _editor(request: HttpRequest, template: MessageTemplate | None) -> HttpResponse:
    may_edit = selectors.template_can_edit(request.user)
    if request.method == "POST":
        _editor_or_404(request.user)
        form = MessageTemplateForm(request.POST)
        if form.is_valid():
            try:
                if template is None:
                    template = services.message_template_create(
                        contents=form.contents(), created_by=request.user, **form.template_fields()
                    )
                    messages.success(request, _("Template created."))
                else:
                    template, changed = services.message_template_update(
                        template=template, contents=form.contents(), updated_by=request.user, **form.template_fields()
                    )
                    messages.success(request, _("Template saved.") if changed else _("Nothing to save: no change."))
                return redirect("message_templates:edit", pk=template.pk)
            except ValidationError as exc:
                form.add_service_errors(exc)
        status = 400
    else:
        initial = (
            MessageTemplateForm.initial_for(template)
            if template
            else {"is_active": True, "track_links": True, "channel": "email"}
        )
        form = MessageTemplateForm(initial=initial)
        status = 200
    context = {
        "template": template,
        "form": form,
        "may_edit": may_edit,
        "placeholders": message_placeholders.placeholders(),
    }
    return render(request, "contact_plans/messaging/template_form.html", context, status=status)


@login_required
def template_create(request: HttpRequest) -> HttpResponse:
    _editor_or_404(request.user)
    return _editor(request, None)


@login_required
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, _template_or_404(request.user, pk))


def _preview_choice(request: HttpRequest, template: MessageTemplate):
    """The customer (visible to the user; 404 for any other) and the language of a preview."""
    form = PreviewForm(request.GET if request.method == "GET" else request.POST)
    form.is_valid()  # a field that does not parse (customer=abc) is left out, as if not chosen
    data = form.cleaned_data
    customer_id = data.get("customer")
    customer = None
    if customer_id:
        try:
            customer = selectors.preview_customer_get(user=request.user, customer_id=customer_id)
        except Customer.DoesNotExist:
            raise Http404 from None
    language = data.get("language") or (customer.language if customer else template.fallback_language)
    return form, customer, language


@login_required
def template_preview(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template_or_404(request.user, pk)
    form, customer, language = _preview_choice(request, template)
    choices = list(selectors.preview_customers(user=request.user, search=form.cleaned_data.get("q", "")))
    if customer is None and choices and not form.cleaned_data.get("q"):
        customer = choices[0]
        language = form.cleaned_data.get("language") or customer.language
    rendered, error = None, ""
    if customer is not None:
        try:
            rendered = render_message(template, customer, language=language)
        except RenderError as exc:
            error = str(exc)
    languages_written = {content.language for content in template.contents.all()}
    context = {
        "template": template,
        "form": form,
        "customer": customer,
        "choices": choices,
        "language": language,
        "languages": [
            {
                "code": code,
                "name": name,
                "written": code in languages_written,
                "url": "?" + urlencode({"customer": customer.pk if customer else "", "language": code}),
            }
            for code, name in settings.LANGUAGES
        ],
        "rendered": rendered,
        "error": error,
        "body_url": (
            reverse("message_templates:preview_body", args=[template.pk])
            + "?"
            + urlencode({"customer": customer.pk, "language": language})
            if rendered and rendered.html
            else ""
        ),
        "may_test_send": selectors.template_can_edit(request.user),
    }
    return render(request, "contact_plans/messaging/template_preview.html", context)


@xframe_options_sameorigin
@login_required
def template_preview_body(request: HttpRequest, pk: int) -> HttpResponse:
    """The rendered HTML alone, for the preview's frame."""
    template = _template_or_404(request.user, pk)
    _form, customer, language = _preview_choice(request, template)
    if customer is None:
        raise Http404
    try:
        rendered = render_message(template, customer, language=language)
    except RenderError as exc:
        return HttpResponse(str(exc), content_type="text/plain; charset=utf-8", status=422)
    response = HttpResponse(rendered.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PREVIEW_BODY_CSP
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_POST
@login_required
def template_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Render the template for the chosen customer and send it to the user's own address."""
    _editor_or_404(request.user)
    template = _template_or_404(request.user, pk)
    _form, customer, language = _preview_choice(request, template)
    back = (
        reverse("message_templates:preview", args=[pk])
        + "?"
        + urlencode({"customer": customer.pk if customer else "", "language": language})
    )
    if customer is None:
        messages.error(request, _("Choose a customer to render the test for."))
    elif not request.user.email:
        messages.error(request, _("Your account has no email address to send the test to."))
    elif template.channel != MessageTemplate.Channel.EMAIL:
        messages.error(request, _("Test sends are for email templates; an SMS preview shows its text."))
    else:
        try:
            services.message_template_test_send(
                template=template, customer=customer, language=language, to_email=request.user.email
            )
        except RenderError as exc:
            messages.error(request, str(exc))
        except DeliveryFailure as exc:
            messages.error(request, _("The mail server did not accept the test: %(detail)s") % {"detail": exc.detail})
        else:
            messages.success(request, _("Test sent to %(email)s.") % {"email": request.user.email})
    return redirect(back)
