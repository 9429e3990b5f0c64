"""Actions of the customer page's "Loyalty" card: enrol the customer, adjust their points.

POST only, CSRF-protected, for users allowed to adjust (services.adjustment_allowed); anyone who
may not see the customer gets a 404. With htmx the answer is the card, re-rendered; without
JavaScript, a redirect back to the customer page.
"""

from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from customers.selectors import customer_visible_to
from retention_crm.http import is_htmx

from . import contests, referrals, selectors, services, standing
from .forms import AdjustmentForm
from .models import Member, Redemption
from .panels import TEMPLATE, loyalty_panel_context
from .redemption import reward_redeem as redeem_reward


def _answer(request: HttpRequest, customer, *, form=None, error: str = "", done: str = "") -> HttpResponse:
    if is_htmx(request):
        context = loyalty_panel_context(request, customer, form=form, error=error)
        return render(request, TEMPLATE, {"panel": context})
    if error or (form is not None and form.errors):
        messages.error(request, error or " ".join(str(e) for errors in form.errors.values() for e in errors))
    elif done:
        messages.success(request, done)
    return redirect(customer)


def _customer_for_adjusting(request: HttpRequest, customer_pk: int):
    customer = get_object_or_404(customer_visible_to(request.user), pk=customer_pk)
    if not services.adjustment_allowed(user=request.user, customer=customer):
        raise PermissionDenied
    return customer


@login_required
@require_POST
def member_enrol_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = _customer_for_adjusting(request, customer_pk)
    services.member_enrol(customer=customer)
    return _answer(request, customer, done=_("The customer is now a member of the loyalty programme."))


@login_required
@require_POST
def points_adjust_view(request: HttpRequest, customer_pk: int) -> HttpResponse:
    customer = _customer_for_adjusting(request, customer_pk)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        try:
            services.points_adjust(
                customer=customer,
                points=form.cleaned_data["points"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
    if form.is_valid() and not form.errors:
        return _answer(request, customer, done=_("The points are adjusted."))
    return _answer(request, customer, form=form)


# --- The customer's standing page (signed link, no login) ---------------------------------------


def _standing_response(request: HttpRequest, token: str, *, redeemed=None, error: str = "", status: int = 200):
    customer_id = standing.standing_customer_id(token)
    member = Member.objects.select_related("customer").filter(pk=customer_id).first() if customer_id else None
    if member is None:
        response = render(request, "loyalty/standing_invalid.html", status=404)
    else:
        language = request.GET.get("lang") or member.customer.language
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        code = referrals.referral_code_get(customer=member.customer).code
        with translation.override(language):
            context = {
                "standing": selectors.member_standing(member=member),
                "customer": member.customer,
                "rewards": selectors.rewards_on_offer(),
                "referral_code": code,
                "referral_link": request.build_absolute_uri(referrals.referral_path(code)),
                "referrals": referrals.member_referrals(customer_id=member.pk),
                "contests": contests.member_contests(member_id=member.pk),
                "token": token,
                "language": language,
                "languages": settings.LANGUAGES,
                "redeemed": redeemed,
                "error": error,
            }
            response = render(request, "loyalty/standing.html", context, status=status)
    # The link is the key to this page: never send it on to another site, never keep it in a cache.
    # "same-origin", not "no-referrer": with no referrer at all, browsers send the redeem form's POST
    # with "Origin: null", which the CSRF check rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def standing_view(request: HttpRequest, token: str) -> HttpResponse:
    # After a redemption the page is shown again (a reload re-sends nothing) with its code: only a
    # redemption of this member's, and the code only, as the customer saw it right after redeeming.
    redeemed = None
    customer_id = standing.standing_customer_id(token)
    if customer_id is not None and request.GET.get("redeemed", "").isdigit():
        redeemed = (
            Redemption.objects.select_related("reward")
            .filter(pk=int(request.GET["redeemed"]), member_id=customer_id)
            .first()
        )
    return _standing_response(request, token, redeemed=redeemed)


@require_POST
def standing_redeem_view(request: HttpRequest, token: str) -> HttpResponse:
    """Redeem from the standing page; on success, back to the page (POST, redirect, GET: reloading
    it never redeems twice) showing the code; a refusal is shown at once with its reason."""
    customer_id = standing.standing_customer_id(token)
    if customer_id is None:
        return _standing_response(request, token)
    try:
        reward_id = int(request.POST.get("reward", ""))
    except ValueError:
        return _standing_response(request, token, error=_("There is no such reward."), status=400)
    try:
        redemption = redeem_reward(customer_id=customer_id, reward_id=reward_id)
    except ValidationError as exc:
        return _standing_response(request, token, error=" ".join(exc.messages), status=400)
    query = urlencode({"lang": request.GET.get("lang", ""), "redeemed": redemption.pk})
    return HttpResponseRedirect(reverse("loyalty:standing", args=[token]) + "?" + query)


# --- Referral links (public, no login) ------------------------------------------------------------


def _with_ref(url: str, code: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"ref": code})))


@require_GET
def referral_link_view(request: HttpRequest, code: str) -> HttpResponse:
    """A member's referral link: counts the visit and sends the visitor to the shop with the code
    (the shop passes it back when it creates the customer); without a shop address, a page that
    shows the code to give in the shop. An unknown code: a page that says so (404)."""
    referral = referrals.referral_link_visit(code=code)
    programme = selectors.programme_get()
    if referral is not None and programme.shop_url:
        response = HttpResponseRedirect(_with_ref(programme.shop_url, referral.code))
    else:
        language = request.GET.get("lang") or translation.get_language_from_request(request)
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        with translation.override(language):
            response = render(
                request,
                "loyalty/referral_link.html",
                {"referral": referral, "programme": programme},
                status=200 if referral is not None else 404,
            )
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
