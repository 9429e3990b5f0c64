"""The public answer page: opened from a survey email's link, no login.

GET shows the survey with the score of the link already chosen and the follow-up questions; it
records nothing (mail scanners fetch every link). The answer is recorded by the page's POST, which
needs the page's CSRF token as well as the link's signed token. Answering again updates the same
response. The page is in the invitation's language (or the one chosen on it), shows the
recipient's first name at most, and is sent with ``Referrer-Policy: no-referrer`` and no caching.
POSTs are limited per client address (``SURVEYS_ANSWERS_PER_MINUTE``), so a flood from one address is
refused with 429 before it touches the database.

CSRF: the page's own double-submit token, not Django's middleware. With ``no-referrer`` a browser
sends ``Origin: null`` on the page's POST, which Django's origin check refuses (it cannot tell it
from a sandboxed attacker's frame). So the GET sets a random nonce in a cookie (HttpOnly,
SameSite=Lax) and puts the same nonce, signed together with a digest of the link, in the form; the
POST must carry both, matching. Another site can neither read the cookie nor sign a token; a token
of one link does not work on another.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from retention_crm.login_guard import client_address

from .answers import (
    page_answer_coming,
    questions_for,
    survey_cached,
    survey_response_record,
    survey_response_record_by_link,
)
from .models import Invitation, Response, Survey
from .rate_limit import answer_over_limit
from .sending import scale_ends
from .tokens import link_read

PAGE_COOKIE = "survey_page"
PAGE_SALT = "surveys.page"
# The page may stay open a while before the answer is sent; a day is plenty.
PAGE_TOKEN_MAX_AGE = 86400


def _link_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:24]


def page_token_make(*, nonce: str, token: str, survey_id: int, short: bool = False) -> str:
    """The form's signed token: the cookie's nonce, the link's digest, and the survey and form the
    page showed (so that the POST can be written without reading the invitation first)."""
    return signing.dumps({"n": nonce, "l": _link_digest(token), "s": survey_id, "k": short}, salt=PAGE_SALT)


def _page_token(request: HttpRequest, token: str, invitation: Invitation) -> str:
    nonce = request.COOKIES.get(PAGE_COOKIE) or ""
    if len(nonce) != 32:
        nonce = secrets.token_hex(16)
    request.survey_page_nonce = nonce
    return page_token_make(nonce=nonce, token=token, survey_id=invitation.survey_id, short=invitation.short)


def _page_token_read(request: HttpRequest, token: str) -> dict | None:
    """The POST's page token when it is ours, unexpired, for this link and matches the cookie; else None."""
    try:
        value = signing.loads(request.POST.get("page_token", ""), salt=PAGE_SALT, max_age=PAGE_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    nonce = request.COOKIES.get(PAGE_COOKIE, "")
    valid = (
        isinstance(value, dict)
        and bool(nonce)
        and secrets.compare_digest(str(value.get("n")), nonce)
        and value.get("l") == _link_digest(token)
    )
    return value if valid else None


def _page_token_valid(request: HttpRequest, token: str) -> bool:
    if getattr(request, "_dont_enforce_csrf_checks", False):  # Django's test client, as the middleware does
        return True
    return _page_token_read(request, token) is not None


def _finish(response: HttpResponse, request: HttpRequest | None = None) -> HttpResponse:
    nonce = getattr(request, "survey_page_nonce", None) if request is not None else None
    if nonce:
        response.set_cookie(
            PAGE_COOKIE, nonce, max_age=PAGE_TOKEN_MAX_AGE, httponly=True, samesite="Lax", secure=request.is_secure()
        )
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _render(template: str, context: dict, status: int = 200) -> HttpResponse:
    """The page without a request context: a public page shows no user, navigation or messages, so
    the site's context processors (the user's roles, their one-to-ones, the session) are not run."""
    return HttpResponse(render_to_string(template, context), status=status)


# The thank-you page differs from one answer to the next only by its link back to the answer: it is
# rendered once per (language, updated, anonymous) in each process with a stand-in token, kept as the
# text before and after the stand-in's path, and the answer's own path is put between (a third of an
# answer's time in the process, measured; and no URL reversing per answer).
_THANKS_SLOT = "thanks-slot"
_THANKS: dict[tuple[str, bool, bool, str], tuple[str, str, str]] = {}


def _thanks(*, language: str, updated: bool, anonymous: bool, token: str) -> HttpResponse:
    key = (language, updated, anonymous, get_script_prefix())
    parts = _THANKS.get(key)
    if parts is None:
        with translation.override(language):
            context = {"language": language, "updated": updated, "token": _THANKS_SLOT, "anonymous": anonymous}
            page = render_to_string("surveys/public/thanks.html", context)
        slot = reverse("surveys_public:answer", args=[_THANKS_SLOT])
        before, _slot, after = page.partition(slot)
        # The path of a token: the slot's, the token in its place (tokens are URL-safe: signing's
        # base64 alphabet and ":", which reverse() leaves as they are).
        parts = _THANKS[key] = (before, slot.partition(_THANKS_SLOT)[0], slot.partition(_THANKS_SLOT)[2] + after)
    before, path_start, after = parts
    return HttpResponse(before + path_start + token + after)


def _invalid(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return _finish(_render("surveys/public/invalid.html", {"message": message}, status=status))


def _flooding(request: HttpRequest) -> bool:
    """This minute's answers from the client's address over the limit, counted by every process
    together (``rate_limit``: in each process, added to the shared cache in batches)."""
    return answer_over_limit(client_address(request), limit=settings.SURVEYS_ANSWERS_PER_MINUTE, now=time.time())


def _chosen_language(request: HttpRequest) -> str | None:
    """The ?lang= of the email's link, if any: the query string is parsed only when there is one
    (most answers have none; parsing an empty one is 2% of an answer's work in the process)."""
    return request.GET.get("lang") if request.META.get("QUERY_STRING") else None


def _language(request: HttpRequest, invitation: Invitation) -> str:
    chosen = _chosen_language(request)
    return chosen if chosen in dict(settings.LANGUAGES) else invitation.language


@csrf_exempt  # the page's own token instead (module docstring): Origin is "null" under no-referrer
@require_http_methods(["GET", "POST"])
def answer_view(request: HttpRequest, token: str) -> HttpResponse:
    if request.method != "POST":
        return _answer(request, token)
    # An answer on its way: the group commit's leader of the moment waits a little for it (answers.py).
    with page_answer_coming():
        return _answer(request, token)


def _answer(request: HttpRequest, token: str) -> HttpResponse:
    # A link that cannot be read speaks the visitor's language (LocaleMiddleware's, from the browser)
    # unless the email's ?lang= says which; a valid link switches to its recipient's below.
    wanted = _chosen_language(request)
    with translation.override(wanted) if wanted in dict(settings.LANGUAGES) else contextlib.nullcontext():
        if request.method == "POST" and _flooding(request):
            return _invalid(request, _("Too many answers from your network. Please try again in a minute."), 429)
        link = link_read(token)
        if request.method == "POST" and link is not None:
            answered = _post_direct(request, token, link)
            if answered is not None:
                return answered
        invitation = None
        if link is not None:
            invitation = (
                Invitation.objects.select_related("survey", "customer", "employee")
                .filter(pk=link.invitation_id)
                .first()
            )  # one query; the questions come from the process's cache (answers.questions_for)
        if invitation is None:
            return _invalid(request, _("This link does not work: it may have been changed or mistyped."), 404)
    language = _language(request, invitation)
    with translation.override(language):
        survey = invitation.survey
        if link.age_seconds > survey.link_days * 86400:
            return _invalid(request, _("This link has expired. Thank you all the same."), 410)
        if survey.status == Survey.Status.CLOSED:
            return _invalid(request, _("This survey is closed. Thank you all the same."), 410)
        questions = questions_for(survey)
        score = link.score
        if request.method == "POST":
            if not _page_token_valid(request, token):
                return _invalid(
                    request,
                    _("This answer did not come from the survey page. Open the link again and answer there."),
                    403,
                )
            return _post(request, invitation, questions, token, language)
        existing = _existing(invitation)
        values = {**existing.answers, "comment": existing.comment} if existing else {}
        if score is None and existing is not None:
            score = existing.score
        return _page(request, invitation, questions, token, language, score=score, values=values)


def _existing(invitation: Invitation) -> Response | None:
    if invitation.survey.anonymous:
        from .answers import anon_key

        return Response.objects.filter(anon_key=anon_key(invitation.pk)).first()
    return Response.objects.filter(invitation=invitation).first()


def _raw_answers(request: HttpRequest, questions: list, *, short: bool) -> dict:
    if short:  # the short re-survey: the first question (the score) and a comment
        return {"comment": request.POST.get("comment")}
    raw = {}
    for question in questions[1:]:
        key = str(question.pk)
        raw[key] = request.POST.getlist(f"q{key}") if question.kind == "multiple" else request.POST.get(f"q{key}")
    return raw


def _post_direct(request: HttpRequest, token: str, link) -> HttpResponse | None:
    """The answer written without reading the invitation first, when the page token names a survey
    whose questions this process has (``answers.survey_cached``) and the answer is valid: one
    statement, which checks in the database what the long way checks here (the invitation's survey,
    not closed, the same questions, the link's age). None sends the request the long way: an
    invalid or old page token, a survey not cached, an answer to correct, a check that failed (the
    long way says which), or not PostgreSQL."""
    page = _page_token_read(request, token)
    cached = survey_cached(page["s"]) if page is not None and type(page.get("s")) is int else None
    if cached is None:
        return None
    survey, questions = cached
    short = page.get("k") is True
    try:
        recorded = survey_response_record_by_link(
            invitation_id=link.invitation_id,
            survey=survey,
            questions=questions,
            link_age=link.age_seconds,
            score=request.POST.get("score"),
            raw=_raw_answers(request, questions, short=short),
            short=short,
        )
    except ValidationError:
        return None
    if recorded is None:
        return None
    language, created = recorded
    chosen = _chosen_language(request)
    language = chosen if chosen in dict(settings.LANGUAGES) else language
    return _finish(_thanks(language=language, updated=not created, anonymous=survey.anonymous, token=token))


def _post(request, invitation, questions, token, language):
    raw = _raw_answers(request, questions, short=invitation.short)
    score = request.POST.get("score")
    try:
        response, created = survey_response_record(
            invitation_id=invitation.pk, score=score, raw=raw, questions=questions, invitation=invitation
        )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        try:
            shown_score = int(score)
        except (TypeError, ValueError):
            shown_score = None
        return _page(
            request,
            invitation,
            questions,
            token,
            language,
            score=shown_score,
            values=request.POST,
            errors=errors,
            status=400,
        )
    return _finish(_thanks(language=language, updated=not created, anonymous=invitation.survey.anonymous, token=token))


def _comment_value(values) -> str:
    """The short re-survey's comment to show again: the POST's (after an error) or the stored one."""
    value = values.get("comment") if hasattr(values, "get") else None
    return value if isinstance(value, str) else ""


def _page(request, invitation, questions, token, language, *, score, values, errors=None, status=200):
    survey = invitation.survey
    first = questions[0]
    low, high = first.scale
    if score is not None and not low <= score <= high:
        score = None
    person = invitation.customer or invitation.employee
    name = (person.name or "").split()
    rows = []
    for question in [] if invitation.short else questions[1:]:
        value = values.get(str(question.pk)) if isinstance(values, dict) else None
        if hasattr(values, "getlist"):
            value = values.getlist(f"q{question.pk}") if question.kind == "multiple" else values.get(f"q{question.pk}")
        rows.append(
            {
                "question": question,
                "text": question.text_in(language, survey.fallback_language),
                "choices": question.choice_labels(language, survey.fallback_language),
                "scale": range(question.scale[0], question.scale[1] + 1) if question.scale else None,
                "value": value,
                "values": value if isinstance(value, list) else [value],
                "errors": (errors or {}).get(f"q{question.pk}", []),
                "shown": question.shown_for(score)
                if score is not None
                else (question.show_min is None and question.show_max is None),
                "show_min": question.show_min,
                "show_max": question.show_max,
            }
        )
    low_label, high_label = scale_ends(first.kind)
    context = {
        "survey": survey,
        "first_name": name[0] if name else "",
        "first_text": first.text_in(language, survey.fallback_language),
        "scale": range(low, high + 1),
        "score": score,
        "low_label": low_label,
        "high_label": high_label,
        "rows": rows,
        "token": token,
        "language": language,
        "languages": settings.LANGUAGES,
        "score_errors": (errors or {}).get("score", []) + (errors or {}).get("__all__", []),
        "page_token": _page_token(request, token, invitation),
        # The short re-survey after a follow-up: the first question and an optional comment.
        "short": invitation.short,
        "comment": _comment_value(values),
        "comment_errors": (errors or {}).get("comment", []),
    }
    return _finish(_render("surveys/public/answer.html", context, status=status), request)
