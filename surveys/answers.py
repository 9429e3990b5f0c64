"""Recording an answer (``survey_response_record``) and the closed loop that follows a bad one.

One response per invitation: the invitation's row lock orders two submissions of the same link,
and the database's unique keys (``Response.invitation``, ``Response.anon_key``) hold even if that
were bypassed, so an answer is never counted twice; answering again updates the same response.

A named customer's answer is written to the customer's timeline (an interaction of kind
"survey"). A detractor (metrics.md: NPS 0-6, CSAT 1-2, CES 1-3; the same cut on the scale of a
custom survey's first question) or a negative comment opens a follow-up task for the customer's
account manager (contact_plans' ``followup_schedule``, keyed by the response, so once), due
``FOLLOWUP_DUE_HOURS`` later. The worklist's reason and the segment conditions read the responses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contact_plans.services import followup_schedule
from customers.models import Interaction
from customers.services import interactions_log_bulk
from retention_crm import events

from .group_commit import GroupCommit
from .models import Invitation, Question, Response, Survey
from .sentiment import is_negative

logger = logging.getLogger(__name__)

# A detractor is called back within two days: fast enough to matter to them (the articles ask
# for fast, empathetic answers), slow enough for an account manager with a full book.
FOLLOWUP_DUE_HOURS = 48
MAX_TEXT_ANSWER = 2000

# The highest score that makes a detractor, by the scale of the first question (metrics.md).
DETRACTOR_MAX = {"scale_0_10": 6, "scale_1_5": 2, "scale_1_7": 3}


def detractor_max(question: Question) -> int | None:
    return DETRACTOR_MAX.get(question.kind)


def anon_key(invitation_id: int) -> str:
    """A keyed hash of the invitation: finds the anonymous response to update, and cannot be turned
    back into the invitation (or joined with it) without the site's secret."""
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, f"surveys.anonymous:{invitation_id}".encode(), hashlib.sha256).hexdigest()


def answers_clean(*, survey: Survey, questions: list[Question], score, raw: dict) -> tuple[int, dict, str]:
    """(score, answers by question id, comment): the first question's score within its scale, the
    shown questions' answers valid, the required ones present. ValidationError names what is wrong."""
    first = questions[0]
    low, high = first.scale
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise ValidationError(
            {"score": _("Choose a score from %(low)s to %(high)s.") % {"low": low, "high": high}}
        ) from None
    if not low <= score <= high:
        raise ValidationError({"score": _("Choose a score from %(low)s to %(high)s.") % {"low": low, "high": high}})
    answers: dict[str, object] = {str(first.pk): score}
    comments = []
    errors = {}
    for question in questions[1:]:
        if not question.shown_for(score):
            continue
        key = str(question.pk)
        value = raw.get(key)
        try:
            cleaned = _answer_clean(question, value)
        except ValidationError as exc:
            errors[f"q{question.pk}"] = exc.messages
            continue
        if cleaned in (None, "", []):
            if question.required:
                errors[f"q{question.pk}"] = [_("Please answer this question.")]
            continue
        answers[key] = cleaned
        if question.kind == Question.Kind.TEXT:
            comments.append(cleaned)
    if errors:
        raise ValidationError(errors)
    return score, answers, "\n\n".join(comments)


def _answer_clean(question: Question, value):
    if question.scale is not None:
        if value in (None, ""):
            return None
        low, high = question.scale
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError(_("Choose a number from %(low)s to %(high)s.") % {"low": low, "high": high}) from None
        if not low <= number <= high:
            raise ValidationError(_("Choose a number from %(low)s to %(high)s.") % {"low": low, "high": high})
        return number
    values = {c["value"] for c in question.choices}
    if question.kind == Question.Kind.SINGLE:
        if value in (None, ""):
            return None
        if value not in values:
            raise ValidationError(_("Choose one of the answers offered."))
        return value
    if question.kind == Question.Kind.MULTIPLE:
        chosen = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        if any(v not in values for v in chosen):
            raise ValidationError(_("Choose among the answers offered."))
        return sorted(set(chosen))
    return _text_clean(value)


def _text_clean(value) -> str:
    text = str(value or "").replace("\x00", "").strip()
    if len(text) > MAX_TEXT_ANSWER:
        raise ValidationError(_("Keep it under %(max)s characters.") % {"max": MAX_TEXT_ANSWER})
    return text


# The questions of the surveys being answered, per process, under (survey id, questions_version):
# the version is read with the invitation (the same row, no extra query) and raised by a trigger on
# every change to the questions, so a stale copy is never used. Small: a few surveys are live at once.
_QUESTIONS: dict[tuple[int, int], list[Question]] = {}
_QUESTIONS_MAX = 64
# The last version of each survey this process has read, for the answer that reads nothing first
# (``survey_response_record_by_link``): its statement checks that the version is still current.
_SURVEYS: dict[int, Survey] = {}


def questions_for(survey: Survey) -> list[Question]:
    """The survey's questions in order, cached per process until they change (read-only: do not edit them)."""
    key = (survey.pk, survey.questions_version)
    questions = _QUESTIONS.get(key)
    if questions is None:
        questions = list(Question.objects.filter(survey_id=survey.pk).order_by("position"))
        if len(_QUESTIONS) >= _QUESTIONS_MAX:
            _QUESTIONS.clear()
            _SURVEYS.clear()
        _QUESTIONS[key] = questions
    _SURVEYS[survey.pk] = survey
    return questions


def survey_cached(survey_id: int) -> tuple[Survey, list[Question]] | None:
    """(survey, questions) as this process last read them, or None. Possibly stale: whoever writes
    with them has the database check the version (``survey_response_record_by_link``)."""
    survey = _SURVEYS.get(survey_id)
    questions = _QUESTIONS.get((survey_id, survey.questions_version)) if survey is not None else None
    return (survey, questions) if questions is not None else None


def _answer_values(
    *, survey: Survey, questions: list[Question], score, raw: dict, source: str, short: bool = False
) -> dict:
    """The columns of the answer (ValidationError when the answer is not valid for these questions).
    ``short``: a short re-survey's, the first question and the optional ``raw["comment"]``."""
    if short:
        score, answers, _comments = answers_clean(survey=survey, questions=questions[:1], score=score, raw={})
        try:
            comment = _text_clean(raw.get("comment"))
        except ValidationError as exc:
            raise ValidationError({"comment": exc.messages}) from None
    else:
        score, answers, comment = answers_clean(survey=survey, questions=questions, score=score, raw=raw)
    negative_comment = bool(comment) and is_negative(comment)
    top = detractor_max(questions[0])
    return {
        "score": score,
        "answers": answers,
        "comment": comment,
        "is_detractor": (top is not None and score <= top) or negative_comment,
        "source": source,
        "answered_on": timezone.localdate(),
    }


def survey_response_record(
    *,
    invitation_id: int,
    score,
    raw: dict,
    source: str = Response.Source.LINK,
    questions: list | None = None,
    invitation: Invitation | None = None,
) -> tuple[Response, bool]:
    """Record (or update) the answer of an invitation; returns (response, created). ``invitation``
    (with its survey and employee) and ``questions`` (in order): when the caller has just read them,
    as the answer page has.

    On PostgreSQL the answer is one statement (``_upsert``): the response inserted or, when the
    invitation already has one, updated in place (``ON CONFLICT … DO UPDATE``, which also orders two
    submissions of the same link: the second waits for the first and updates it), the invitation
    marked answered, and the commit not waiting for the disk. Nothing is read back: the statement
    returns the row.

    The timeline, the follow-up task and the ``survey.answered`` event are the beat's
    (``survey_answers_process``, every minute): a customer's answer is only marked pending, so
    recording it makes no round trip to the broker."""
    if invitation is None or invitation.pk != invitation_id:
        invitation = Invitation.objects.select_related("survey", "employee").get(pk=invitation_id)
    survey = invitation.survey
    if survey.status == Survey.Status.CLOSED:
        raise ValidationError(_("This survey is closed and takes no more answers."))
    if questions is None:
        questions = questions_for(survey)
    values = _answer_values(
        survey=survey, questions=questions, score=score, raw=raw, source=source, short=invitation.short
    )
    if connection.vendor == "postgresql":
        recorded = _upsert(invitation_id=invitation.pk, survey=survey, values=values)
        if recorded is None:
            raise ValidationError(_("This survey is closed and takes no more answers."))
        response, created = recorded
    else:
        values["language"] = invitation.language
        values["short"] = invitation.short
        # A customer's answer, new or changed, waits for the closed loop.
        values["loop_pending"] = invitation.customer_id is not None and not survey.anonymous
        with transaction.atomic():
            Invitation.objects.select_for_update().filter(pk=invitation.pk).exists()
            if Survey.objects.filter(pk=survey.pk, status=Survey.Status.CLOSED).exists():  # closed meanwhile
                raise ValidationError(_("This survey is closed and takes no more answers."))
            if survey.anonymous:
                response, created = _record_anonymous(invitation, survey, values)
            else:
                response, created = _record_named(invitation, survey, values)
            Invitation.objects.filter(pk=invitation.pk, answered=False).update(answered=True)
    logger.debug("surveys.answered survey=%s created=%s", survey.pk, created)
    return response, created


def survey_response_record_by_link(
    *,
    invitation_id: int,
    survey: Survey,
    questions: list[Question],
    link_age: float,
    score,
    raw: dict,
    short: bool = False,
) -> tuple[str, bool] | None:
    """The answer page's POST without reading anything first (PostgreSQL only): the answer is
    validated against the survey's questions as this process has them (``survey_cached``), and the
    one statement writes it only if the invitation belongs to that survey (and is a short re-survey
    exactly when ``short``, as the page said), the survey is not closed, its questions are still that
    version, its anonymity is unchanged and the link has not expired.
    Returns (the response's language, created): all the thank-you page needs, so the statement
    returns no more (a whole row costs a third of the answer's own work in the process).
    None when any of that fails (nothing written): the caller then takes the long way, which reads
    the invitation and says what is wrong. ValidationError for an answer the questions refuse."""
    if connection.vendor != "postgresql":
        return None
    values = _answer_values(
        survey=survey, questions=questions, score=score, raw=raw, source=Response.Source.LINK, short=short
    )
    row = _page_row(invitation_id=invitation_id, survey=survey, values=values, link_age=link_age, short=short)
    if connection.in_atomic_block:
        # Inside a caller's transaction (a script's, a test's) the answer is written in it, alone:
        # a batch's leader would commit or roll back the others' answers with it.
        recorded = _page_answers_write([row])[0]
        if isinstance(recorded, BaseException):
            raise recorded
    else:
        recorded = _PAGE_ANSWERS.submit(row)
    if recorded is not None:
        logger.debug("surveys.answered survey=%s created=%s", survey.pk, recorded[1])
    return recorded


def _page_row(*, invitation_id: int, survey: Survey, values: dict, link_age: float, short: bool) -> dict:
    """An answer of the page as one row of ``_PAGE_UPSERT`` (JSON's types), with what the statement checks."""
    anonymous = survey.anonymous
    return {
        **values,
        "answered_on": values["answered_on"].isoformat(),
        "answered_at": None if anonymous else timezone.now().isoformat(),
        "id": str(uuid.uuid4()),
        "survey_id": survey.pk,
        "anonymous": anonymous,
        "anon_key": anon_key(invitation_id) if anonymous else None,
        "invitation_id": invitation_id,
        "questions_version": survey.questions_version,
        "link_age": link_age,
        "short": short,
    }


# The columns an answer writes; on a second answer they are replaced, except the anonymous
# response's day, which stays the first answer's (an update reveals no new time).
_ANSWER_COLUMNS = (
    "score", "answers", "comment", "is_detractor", "language", "source", "answered_on", "answered_at", "loop_pending"
)  # fmt: skip

# ``inv``: the invitation, only if its survey is the one the answer was validated against and takes
# answers (and, for the page's POST, still has the same questions and the link has not expired);
# the person, language and team come from it. ``answer``: the response inserted or updated.
# ``invitation``: the answered flag. The final SELECT makes the commit asynchronous.
_UPSERT = """
WITH inv AS (
    SELECT i.id, i.customer_id, i.employee_id, i.language, i.short, e.team_id
    FROM surveys_invitation i
    JOIN surveys_survey s ON s.id = i.survey_id
    LEFT JOIN team_employee e ON e.id = i.employee_id
    WHERE i.id = %(invitation_id)s AND s.id = %(survey_id)s AND s.status <> 'closed' AND s.anonymous = %(anonymous)s
      AND (%(questions_version)s::integer IS NULL OR s.questions_version = %(questions_version)s::integer)
      AND (%(link_age)s::double precision IS NULL OR s.link_days * 86400 >= %(link_age)s::double precision)
      AND (%(short)s::boolean IS NULL OR i.short = %(short)s::boolean)
), answer AS (
    INSERT INTO surveys_response (
        id, survey_id, anonymous, invitation_id, customer_id, employee_id, team_id, anon_key,
        score, answers, comment, is_detractor, language, source, answered_on, answered_at, timeline_logged,
        loop_pending, short
    )
    SELECT %(id)s, %(survey_id)s, %(anonymous)s, {person}, inv.team_id, %(anon_key)s,
           %(score)s, %(answers)s::jsonb, %(comment)s, %(is_detractor)s,
           inv.language, %(source)s, %(answered_on)s, %(answered_at)s, false, {pending}, inv.short
    FROM inv
    ON CONFLICT ({conflict}) DO UPDATE SET {updates}
    RETURNING {returning}, (xmax = 0) AS created
), invitation AS (
    UPDATE surveys_invitation SET answered = true
    WHERE id = %(invitation_id)s AND NOT answered AND EXISTS (SELECT 1 FROM answer)
)
SELECT answer.*, set_config('synchronous_commit', 'off', true) FROM answer
"""


def _upsert_sql(*, anonymous: bool) -> str:
    kept = {"answered_on"} if anonymous else set()
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in _ANSWER_COLUMNS if column not in kept)
    returning = ", ".join(f.column for f in Response._meta.concrete_fields)
    return _UPSERT.format(
        # An anonymous response links to no person or invitation (survey_response_anonymous_unlinked),
        # and has no closed loop; a customer's answer, new or changed, waits for the closed loop.
        person="NULL, NULL, NULL" if anonymous else "inv.id, inv.customer_id, inv.employee_id",
        pending="false" if anonymous else "inv.customer_id IS NOT NULL",
        conflict="anon_key" if anonymous else "invitation_id",
        updates=updates,
        returning=returning,
    )


# The statement's parameters, in the order of its ``$n`` and with their types: it is prepared once
# per database connection (``_execute_prepared``), so that PostgreSQL parses and plans the CTE once,
# not on every answer (two thirds of the database's work for an answer, docs/benchmarks.md).
_UPSERT_PARAMS = {
    "invitation_id": "bigint",
    "survey_id": "bigint",
    "anonymous": "boolean",
    "questions_version": "integer",
    "link_age": "double precision",
    "short": "boolean",
    "id": "uuid",
    "anon_key": "text",
    "score": "smallint",
    "answers": "jsonb",
    "comment": "text",
    "is_detractor": "boolean",
    "source": "text",
    "answered_on": "date",
    "answered_at": "timestamptz",
}
_UPSERT_STATEMENTS: dict[bool, tuple[str, str]] = {}


def _upsert_statement(*, anonymous: bool) -> tuple[str, str]:
    """(name, text with ``$n`` parameters) of the statement, for ``PREPARE``."""
    statement = _UPSERT_STATEMENTS.get(anonymous)
    if statement is None:
        text = _upsert_sql(anonymous=anonymous)
        for number, name in enumerate(_UPSERT_PARAMS, start=1):
            text = text.replace(f"%({name})s", f"${number}")
        name = "surveys_answer" + ("_anonymous" if anonymous else "")
        statement = _UPSERT_STATEMENTS[anonymous] = (name, text)
    return statement


def _execute_prepared(cursor, name: str, statement: str, types, params: list) -> None:
    """``EXECUTE name(params)``, preparing ``statement`` first when this database connection has not
    yet (once per connection: a prepared statement lives as long as its session, whatever becomes of
    the transaction it was made in). Django's connection is per thread, and replaced when it is
    closed (``CONN_MAX_AGE``, an error): the set of prepared names goes with the raw connection."""
    wrapper = cursor.db
    prepared = getattr(wrapper, "surveys_prepared", None)
    if prepared is None or prepared[0] is not wrapper.connection:
        prepared = wrapper.surveys_prepared = (wrapper.connection, set())
    if name not in prepared[1]:
        cursor.execute(f"PREPARE {name} ({', '.join(types)}) AS {statement}")
        prepared[1].add(name)
    cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)


def _upsert(
    *,
    invitation_id: int,
    survey: Survey,
    values: dict,
    questions_version: int | None = None,
    link_age=None,
    short: bool | None = None,
) -> tuple[Response, bool] | None:
    """One statement: the response inserted or updated, the invitation marked answered, the commit
    asynchronous (``set_config(…, true)`` lasts for this statement's transaction only, as the
    outbox's dispatcher does, docs/messaging.md). Outside a transaction the statement is its own: no
    BEGIN and COMMIT round trips. None (nothing written) when the invitation's checks fail (``inv``
    above): the survey was closed meanwhile, or, when given, its questions changed or the link expired.
    The statement is prepared once per connection (``_execute_prepared``). Returns (the response,
    created). The page's POST writes with ``_PAGE_UPSERT`` instead, many answers at once.

    The asynchronous commit: the answer is visible to everyone when the page says thank you and
    reaches the disk at most ~0.6 s later instead of each answer waiting for an fsync. Only a crash
    of the database server itself in that window loses it; the person's link still works, and
    answering again records it."""
    anonymous = survey.anonymous
    params = {
        **values,
        "answers": json.dumps(values["answers"]),
        "answered_at": None if anonymous else timezone.now(),
        "id": uuid.uuid4(),
        "survey_id": survey.pk,
        "anonymous": anonymous,
        "anon_key": anon_key(invitation_id) if anonymous else None,
        "invitation_id": invitation_id,
        "questions_version": questions_version,
        "link_age": link_age,
        "short": short,
    }
    name, statement = _upsert_statement(anonymous=anonymous)
    with connection.cursor() as cursor:
        _execute_prepared(cursor, name, statement, _UPSERT_PARAMS.values(), [params[key] for key in _UPSERT_PARAMS])
        row = cursor.fetchone()
    if row is None:
        return None
    fields = [f.attname for f in Response._meta.concrete_fields]
    loaded = dict(zip(fields, row[: len(fields)], strict=True))
    if isinstance(loaded["answers"], str):  # Django's jsonb loader hands back the text
        loaded["answers"] = json.loads(loaded["answers"])
    response = Response.from_db(connection.alias, fields, [loaded[name] for name in fields])
    return response, bool(row[len(fields)])


# The page's answers, many in one statement: the rows come as one JSON array (``json_to_recordset``),
# each checked as ``_UPSERT``'s ``inv`` checks one (its survey, not closed, the same questions, the
# link's age, a short re-survey exactly when the page said so); the ones that pass are written and
# returned by their key (the invitation, or the anonymous response's keyed hash), with the
# response's language and whether it was new; the others write nothing and are not returned.
_PAGE_UPSERT = """
WITH inv AS (
    SELECT r.*, i.customer_id, i.employee_id, i.language, e.team_id
    FROM json_to_recordset($1::json) AS r(
        invitation_id bigint, survey_id bigint, questions_version integer, link_age double precision,
        short boolean, id uuid, anon_key text, score smallint, answers jsonb, comment text,
        is_detractor boolean, source text, answered_on date, answered_at timestamptz
    )
    JOIN surveys_invitation i ON i.id = r.invitation_id AND i.survey_id = r.survey_id AND i.short = r.short
    JOIN surveys_survey s ON s.id = r.survey_id
    LEFT JOIN team_employee e ON e.id = i.employee_id
    WHERE s.status <> 'closed' AND s.anonymous = {anonymous} AND s.questions_version = r.questions_version
      AND s.link_days * 86400 >= r.link_age
), answer AS (
    INSERT INTO surveys_response (
        id, survey_id, anonymous, invitation_id, customer_id, employee_id, team_id, anon_key,
        score, answers, comment, is_detractor, language, source, answered_on, answered_at, timeline_logged,
        loop_pending, short
    )
    SELECT inv.id, inv.survey_id, {anonymous}, {person}, inv.team_id, inv.anon_key,
           inv.score, inv.answers, inv.comment, inv.is_detractor,
           inv.language, inv.source, inv.answered_on, inv.answered_at, false, {pending}, inv.short
    FROM inv
    ON CONFLICT ({key}) DO UPDATE SET {updates}
    RETURNING {key} AS key, language, (xmax = 0) AS created
), invitation AS (
    UPDATE surveys_invitation i SET answered = true
    FROM inv JOIN answer ON answer.key = inv.{key}
    WHERE i.id = inv.invitation_id AND NOT i.answered
)
SELECT answer.key, answer.language, answer.created, set_config('synchronous_commit', 'off', true) FROM answer
"""
_PAGE_FIELDS = (
    "invitation_id", "survey_id", "questions_version", "link_age", "short", "id", "anon_key", "score", "answers",
    "comment", "is_detractor", "source", "answered_on", "answered_at",
)  # fmt: skip


def _page_statement(*, anonymous: bool) -> tuple[str, str]:
    kept = {"answered_on"} if anonymous else set()
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in _ANSWER_COLUMNS if column not in kept)
    text = _PAGE_UPSERT.format(
        anonymous="true" if anonymous else "false",
        person="NULL, NULL, NULL" if anonymous else "inv.invitation_id, inv.customer_id, inv.employee_id",
        pending="false" if anonymous else "inv.customer_id IS NOT NULL",
        key="anon_key" if anonymous else "invitation_id",
        updates=updates,
    )
    return "surveys_answer" + ("_anonymous" if anonymous else "") + "_page", text


_PAGE_STATEMENTS = {anonymous: _page_statement(anonymous=anonymous) for anonymous in (False, True)}


def _page_rounds(rows: list[dict]) -> list[tuple[bool, list[int]]]:
    """The rows' indexes by statement: one per kind (named, anonymous), and a second answer to an
    invitation in a later statement than the first (one statement cannot update a row twice), in
    the order they came."""
    rounds: list[tuple[bool, list[int]]] = []
    last: dict[int, int] = {}  # invitation -> its last round
    for index, row in enumerate(rows):
        start = last.get(row["invitation_id"], -1) + 1
        place = next(
            (n for n in range(start, len(rounds)) if rounds[n][0] == row["anonymous"]), None
        )  # the first round of its kind after its invitation's last
        if place is None:
            rounds.append((row["anonymous"], []))
            place = len(rounds) - 1
        rounds[place][1].append(index)
        last[row["invitation_id"]] = place
    return rounds


def _page_answers_write(rows: list[dict]) -> list:
    """Each row's outcome, in order: (the response's language, created), None when its checks
    failed (nothing written), or the DatabaseError of its own statement. A statement of several
    answers that fails is done again one answer at a time, so one answer the database refuses
    fails no other."""
    outcomes: list = [None] * len(rows)
    for anonymous, indexes in _page_rounds(rows):
        try:
            written = _page_statement_run(anonymous, [rows[index] for index in indexes])
        except DatabaseError as error:
            if len(indexes) == 1:
                outcomes[indexes[0]] = error
                continue
            written = {}
            for index in indexes:
                try:
                    written.update(_page_statement_run(anonymous, [rows[index]]))
                except DatabaseError as own_error:
                    outcomes[index] = own_error
        for index in indexes:
            row = rows[index]
            outcomes[index] = written.get(row["anon_key"] if anonymous else row["invitation_id"], outcomes[index])
    return outcomes


def _page_statement_run(anonymous: bool, rows: list[dict]) -> dict:
    """{key: (language, created)} of the rows written by one statement (prepared once per connection)."""
    name, text = _PAGE_STATEMENTS[anonymous]
    payload = json.dumps([{field: row[field] for field in _PAGE_FIELDS} for row in rows])
    with connection.cursor() as cursor:
        _execute_prepared(cursor, name, text, ["json"], [payload])
        return {key: (language, bool(created)) for key, language, created, _off in cursor.fetchall()}


# The answers of a process's threads written together (surveys/group_commit.py): under load the
# answers that arrive while one statement runs go in the next, one round trip and one commit for all.
_PAGE_ANSWERS = GroupCommit("surveys.page_answers", _page_answers_write, log_at_exit=True)


def page_answer_coming():
    """Context of a page's POST: its answer will probably be written (``GroupCommit.coming``)."""
    return _PAGE_ANSWERS.coming()


def _record_named(invitation: Invitation, survey: Survey, values: dict) -> tuple[Response, bool]:
    values = {**values, "answered_at": timezone.now()}
    response = Response.objects.filter(invitation=invitation).first()
    if response is not None:
        for name, value in values.items():
            setattr(response, name, value)
        response.save()
        return response, False
    employee = invitation.employee
    response = Response.objects.create(
        survey=survey,
        invitation=invitation,
        customer_id=invitation.customer_id,
        employee=employee,
        team_id=getattr(employee, "team_id", None),
        **values,
    )
    return response, True


def _record_anonymous(invitation: Invitation, survey: Survey, values: dict) -> tuple[Response, bool]:
    key = anon_key(invitation.pk)
    response = Response.objects.filter(anon_key=key).first()
    if response is not None:
        # Changed, but its day stays the day of the first answer: an update reveals no new time.
        values = {k: v for k, v in values.items() if k != "answered_on"}
        for name, value in values.items():
            setattr(response, name, value)
        response.save()
        return response, False
    try:
        with transaction.atomic():
            response = Response.objects.create(
                survey=survey, anonymous=True, anon_key=key, team_id=invitation.employee.team_id, **values
            )
    except IntegrityError:  # the same invitation answered at the same instant: theirs is the answer
        return Response.objects.get(anon_key=key), False
    return response, True


# Pending answers processed per transaction: each costs a handful of statements (its read, the
# timeline's insert, a follow-up for a detractor, the event), so 200 commit every second or two and
# hold the row locks of 200 answers only (a second answer to one of them waits for the commit).
LOOP_CHUNK = 200
# A run of the beat's task stops taking chunks after this long, before the next minute's run starts
# (two runs overlapping would still never take the same answer: SKIP LOCKED).
LOOP_SECONDS = 45


def survey_answers_process(*, chunk: int = LOOP_CHUNK, seconds: float = LOOP_SECONDS) -> int:
    """The closed loop of the answers recorded since the last run, chunk after chunk until none is
    pending (or ``seconds`` have passed); returns how many were taken. Run by the beat every minute."""
    started, total = time.monotonic(), 0
    while True:
        taken = survey_answers_process_chunk(limit=chunk)
        total += taken
        if taken < chunk or time.monotonic() - started > seconds:
            return total


@transaction.atomic
def survey_answers_process_chunk(*, limit: int = LOOP_CHUNK) -> int:
    """Up to ``limit`` pending answers (the partial index on ``loop_pending``), claimed with
    ``FOR UPDATE SKIP LOCKED`` so that two workers never take the same one, run through the closed
    loop and unmarked in the same transaction. A changed answer arriving meanwhile waits for the
    commit and marks its response pending again. Read, flagged and unmarked in one statement each
    for the whole chunk; when one answer fails, the chunk is done again one answer per savepoint,
    and the one that fails is logged and stays pending for the next run. Returns how many were taken."""
    pending = (
        Response.objects.filter(loop_pending=True)
        .select_related("survey", "customer__account_manager")
        .order_by("id")
        .select_for_update(skip_locked=True, of=("self",))
    )
    responses = list(pending[:limit])
    try:
        with transaction.atomic():
            entries = [_closed_loop_apply(r, log_timeline=not r.timeline_logged) for r in responses]
            interactions_log_bulk(interactions=[entry for entry in entries if entry is not None])
        done = responses
    except Exception:  # one broken answer must not hold back the others
        logger.warning("surveys.closed_loop_chunk_retried one_by_one=%s", len(responses))
        done = []
        for response in responses:
            try:
                with transaction.atomic():
                    entry = _closed_loop_apply(response, log_timeline=not response.timeline_logged)
                    interactions_log_bulk(interactions=[entry] if entry is not None else [])
            except Exception:
                logger.exception("surveys.closed_loop_failed response=%s", response.pk)
                continue
            done.append(response)
    # The rows are locked by this transaction: nobody else changed their flags meanwhile.
    Response.objects.filter(pk__in=[r.pk for r in done]).update(loop_pending=False, timeline_logged=True)
    logger.info("surveys.answers_processed taken=%s done=%s", len(responses), len(done))
    return len(responses)


def survey_closed_loop(*, response_id: str) -> None:
    """The closed loop of one answer, on its own (the demo; answers queued before the beat took over)."""
    response = Response.objects.select_related("survey", "customer__account_manager").filter(pk=response_id).first()
    if response is None or response.customer is None:
        return
    claimed = Response.objects.filter(pk=response.pk, timeline_logged=False).update(timeline_logged=True)
    entry = _closed_loop_apply(response, log_timeline=bool(claimed))
    interactions_log_bulk(interactions=[entry] if entry is not None else [])


def _closed_loop_apply(response: Response, *, log_timeline: bool) -> Interaction | None:
    """A named customer answer's ``survey.answered`` event (with the time of the answer: the
    subscribers count a response once) and, for a detractor, the follow-up task for the account
    manager (once: keyed by the response). Returns the timeline entry to log when ``log_timeline``
    (unsaved: the caller logs a chunk's in one statement and makes sure each is written once)."""
    survey, customer = response.survey, response.customer
    if customer is None:
        return None
    answered_at = response.answered_at or timezone.now()
    events.publish(
        events.SURVEY_ANSWERED,
        response_id=str(response.pk),
        customer_id=customer.pk,
        answered_at=answered_at.isoformat(),
    )
    kind = survey.get_kind_display()
    entry = None
    if log_timeline:
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("%(survey)s answer: %(score)s") % {"survey": kind, "score": response.score}
        entry = Interaction(
            customer=customer,
            kind=Interaction.Kind.SURVEY,
            subject=subject[:200],
            body=response.comment,
            direction=Interaction.Direction.INBOUND,
            channel=Interaction.Channel.WEB,
            occurred_at=answered_at,
            sentiment=-1 if response.is_detractor else None,
        )
    if response.is_detractor and not response.followup_id and customer.account_manager_id is not None:
        _followup_open(response)
    return entry


def _followup_open(response: Response) -> None:
    survey, customer = response.survey, response.customer
    kind = survey.get_kind_display()
    with translation.override(settings.LANGUAGE_CODE):
        note = _("%(survey)s detractor (%(score)s) in “%(name)s”. Call them, listen, and fix what went wrong.") % {
            "survey": kind,
            "score": response.score,
            "name": survey.name,
        }
        if response.comment:
            note += "\n\n" + response.comment
    followup = followup_schedule(
        customer=customer,
        assigned_to=customer.account_manager,
        due_at=timezone.now() + timedelta(hours=FOLLOWUP_DUE_HOURS),
        note=note,
        key=f"survey-response:{response.pk}",
    )
    # Not set on ``response`` too: a chunk rolled back and done again must see it as it was read.
    Response.objects.filter(pk=response.pk).update(followup_id=followup.pk)
