"""The programme's pages for marketers and administrators: earning rules, tiers and rewards
(list, create, edit) and the results over a period, with a chart and a CSV download.

Anyone else gets a 404 (loyalty.programme.programme_manageable_by), as for a customer they may not see.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.selectors import customer_visible_to
from retention_crm import formats
from retention_crm.csv import csv_response, csv_stream

from . import contests, programme
from .models import Contest, ContestEntry, EarningRule, ProgrammeChange, Reward, Tier
from .programme_forms import ContestForm, EarningRuleForm, ProgrammeForm, ResultsPeriodForm, RewardForm, TierForm
from .results import Results, programme_results
from .selectors import programme_get
from .tasks import contest_draw_task

# The results page opens on the last 30 days (today included): a month of activity at a glance.
DEFAULT_PERIOD_DAYS = 30


def _manager_or_404(request: HttpRequest) -> None:
    if not programme.programme_manageable_by(request.user):
        raise Http404


def _add_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request)
    rules = EarningRule.objects.order_by("kind", "-starts_at", "id")
    now = timezone.now()
    context = {"rules": rules, "now": now, "section": "rules"}
    return render(request, "loyalty/programme/rule_list.html", context)


@login_required
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _manager_or_404(request)
    rule = get_object_or_404(EarningRule, pk=pk) if pk else None
    in_force = rule is not None and programme.earning_rule_in_force(rule)
    initial = {"starts_at": timezone.localtime().replace(second=0, microsecond=0)} if in_force or not rule else {}
    form = EarningRuleForm(request.POST or None, instance=rule, in_force=in_force, initial=initial)
    if request.method == "POST" and form.is_valid():
        changed = True
        try:
            if rule is None:
                programme.earning_rule_create(rule=form.save(commit=False))
            else:
                changes = {field: form.cleaned_data[field] for field in form.changed_data if field != "kind"}
                changes["starts_at"] = form.cleaned_data["starts_at"]
                _rule, changed = programme.earning_rule_change(rule=rule, changes=changes)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if changed:
                messages.success(request, _("The earning rule is saved."))
            else:
                messages.info(request, _("Nothing was changed: the rule stays as it was."))
            return redirect("loyalty:rules")
    context = {"form": form, "rule": rule, "in_force": in_force, "section": "rules"}
    return render(request, "loyalty/programme/rule_form.html", context)


@login_required
def tier_list(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request)
    context = {"tiers": Tier.objects.order_by("threshold"), "programme": programme_get(), "section": "tiers"}
    return render(request, "loyalty/programme/tier_list.html", context)


def _simple_edit(request, *, model, form_class, save, pk, template: str, section: str, done: str, back: str):
    instance = get_object_or_404(model, pk=pk) if pk else None
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                save(form.save(commit=False))
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(back)
    return render(request, template, {"form": form, "object": instance, "section": section})


@login_required
def tier_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _manager_or_404(request)
    return _simple_edit(
        request,
        model=Tier,
        form_class=TierForm,
        save=lambda tier: programme.tier_save(tier=tier),
        pk=pk,
        template="loyalty/programme/tier_form.html",
        section="tiers",
        done=_("The tier is saved. Members move at the next tier refresh."),
        back="loyalty:tiers",
    )


@login_required
def reward_list(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request)
    return render(
        request, "loyalty/programme/reward_list.html", {"rewards": Reward.objects.all(), "section": "rewards"}
    )


@login_required
def reward_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _manager_or_404(request)
    return _simple_edit(
        request,
        model=Reward,
        form_class=RewardForm,
        save=lambda reward: programme.reward_save(reward=reward),
        pk=pk,
        template="loyalty/programme/reward_form.html",
        section="rewards",
        done=_("The reward is saved."),
        back="loyalty:rewards",
    )


# --- Contests ------------------------------------------------------------------------------------


@login_required
def contest_list(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request)
    context = {"contests": Contest.objects.order_by("-starts_at", "-id"), "now": timezone.now(), "section": "contests"}
    return render(request, "loyalty/programme/contest_list.html", context)


@login_required
def contest_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _manager_or_404(request)
    contest = get_object_or_404(Contest, pk=pk) if pk else None
    if contest is not None and contest.drawn_at is not None:
        messages.info(request, _("This contest has been drawn: its rules and its result stay as they are."))
        return redirect("loyalty:contest", contest.pk)
    return _simple_edit(
        request,
        model=Contest,
        form_class=ContestForm,
        save=lambda contest: contests.contest_save(contest=contest),
        pk=pk,
        template="loyalty/programme/contest_form.html",
        section="contests",
        done=_("The contest is saved."),
        back="loyalty:contests",
    )


ENTRIES_PER_PAGE = 50


@login_required
def contest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A contest: its rules and seed; after its end, the draw (POST); once drawn, the entries, the
    winners and the same draw re-run from the seed, to show it gives the same winners."""
    _manager_or_404(request)
    contest = get_object_or_404(Contest, pk=pk)
    if request.method == "POST":
        # Refusals at once (before the end, drawn already); the draw itself in a task: its entries
        # may be a whole base's.
        try:
            contests.contest_draw_check(contest=contest)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            contest_draw_task.delay(contest.pk, request.user.pk)
            messages.success(
                request, _("The draw has started: the winners appear here in a moment and are told by email.")
            )
        return redirect("loyalty:contest", contest.pk)
    visible = customer_visible_to(request.user)
    ranking = contest.winner_method == Contest.WinnerMethod.RANKING
    if request.GET.get("format") == "csv":
        header = [_("Customer id"), _("Name"), _("Email"), _("Points earned") if ranking else _("Entries")]
        header += [_("Reached at")] if ranking else []
        rows = (
            [cid, name, email, tickets, *([reached] if ranking else [])]
            for cid, name, email, tickets, _points, reached in contests.contest_entries_rows(
                contest=contest, visible=visible
            )
        )
        return csv_stream(filename=f"contest-{contest.pk}-entries.csv", header=header, rows=rows)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    entry_rows = list(
        contests.contest_entries_rows(
            contest=contest, visible=visible, limit=ENTRIES_PER_PAGE + 1, offset=(page - 1) * ENTRIES_PER_PAGE
        )
    )
    entries = ContestEntry.objects.filter(contest=contest)
    totals = entries.aggregate(members=Count("pk"), tickets=Sum("tickets"))
    context = {
        "ranking": ranking,
        "entry_rows": entry_rows[:ENTRIES_PER_PAGE],
        "entries_first": (page - 1) * ENTRIES_PER_PAGE,
        "entries_page": page,
        "entries_next": page + 1 if len(entry_rows) > ENTRIES_PER_PAGE else None,
        "entries_previous": page - 1 if page > 1 else None,
        "contest": contest,
        "now": timezone.now(),
        "winners": contest.winners.select_related("member__customer").order_by("rank"),
        "entries_members": totals["members"],
        "entries_tickets": totals["tickets"] or 0,
        "redraw": contests.contest_redraw(contest=contest) if contest.drawn_at else None,
        "section": "contests",
    }
    return render(request, "loyalty/programme/contest_detail.html", context)


# --- Settings ------------------------------------------------------------------------------------

SETTINGS_HISTORY = 50


@login_required
def settings_view(request: HttpRequest) -> HttpResponse:
    """The programme's settings (point value, expiry, tiers, referrals, birthday bonus) and who
    changed what when."""
    _manager_or_404(request)
    current = programme_get()
    form = ProgrammeForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            changed = programme.programme_settings_update(
                changes={field: form.cleaned_data[field] for field in form.changed_data}, user=request.user
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if changed:
                messages.success(request, _("The programme's settings are saved."))
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("loyalty:settings")
    labels = {name: form.fields[name].label for name in programme.PROGRAMME_SETTINGS}
    history = [
        {"change": change, "label": labels.get(change.field, change.field)}
        for change in ProgrammeChange.objects.select_related("changed_by")[:SETTINGS_HISTORY]
    ]
    return render(request, "loyalty/programme/settings.html", {"form": form, "history": history, "section": "settings"})


# --- Results -------------------------------------------------------------------------------------


def _period(request: HttpRequest) -> tuple[ResultsPeriodForm, date, date]:
    today = timezone.localdate()
    default = {"start": today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), "end": today}
    form = ResultsPeriodForm(request.GET if "start" in request.GET or "end" in request.GET else default)
    if form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"]
    return form, default["start"], default["end"]


def _rows(results: Results) -> list[tuple[str, object]]:
    """The figures in the page's order, as (label, value): the table and the CSV are one list."""
    rows = [
        (_("Members"), results.members),
        (_("Active members"), results.active_members),
        (_("Points issued"), results.points_issued),
        (_("Points reversed"), results.points_reversed),
        (_("Points redeemed"), results.points_redeemed),
        (_("Points expired"), results.points_expired),
        (_("Redemption rate"), results.redemption_rate),
        (_("Breakage"), results.breakage),
        (_("Points whose expiry date fell in the period"), results.breakage_cohort_points),
        (_("Of those, expired unredeemed"), results.breakage_expired_points),
        (_("Referrals"), results.referrals),
        (_("Referrals rewarded"), results.referrals_converted),
        (_("Points given for referrals"), results.referral_points),
        (_("Outstanding points"), results.outstanding_points),
        (_("Outstanding liability"), results.outstanding_liability),
        (_("Tier moves up"), results.moves_up),
        (_("Tier moves down"), results.moves_down),
        (_("Repeat-purchase rate, members"), results.repeat_rate_members),
        (_("Repeat-purchase rate, non-members"), results.repeat_rate_others),
    ]
    rows += [(_("Members in tier %(tier)s") % {"tier": name}, count) for name, count in results.tiers]
    return rows


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _figures(results: Results, point_value) -> list[dict]:
    """The cards at the top of the results page."""
    return [
        {"label": _("Members"), "value": results.members},
        {"label": _("Active members"), "value": results.active_members, "help": _("Earned or redeemed in the period.")},
        {
            "label": _("Redemption rate"),
            "value": _percent(results.redemption_rate),
            "percent": True,
            "help": _("Points redeemed over points issued, net of reversals."),
        },
        {
            "label": _("Breakage"),
            "value": _percent(results.breakage),
            "percent": True,
            "help": _(
                "Of the %(cohort)s points whose expiry date fell in the period, the share that expired unredeemed."
            )
            % {"cohort": formats.format_number(results.breakage_cohort_points)},
        },
        {"label": _("Outstanding points"), "value": results.outstanding_points},
        {
            "label": _("Referrals"),
            "value": results.referrals,
            "help": _("%(converted)s rewarded in the period, %(points)s points given.")
            % {
                "converted": formats.format_number(results.referrals_converted),
                "points": formats.format_number(results.referral_points),
            },
        },
        {
            "label": _("Outstanding liability"),
            "value": results.outstanding_liability,
            "money": True,
            "help": _("At %(value)s per point.") % {"value": formats.format_number(point_value, 4)},
        },
        {
            "label": _("Repeat purchases, members"),
            "value": _percent(results.repeat_rate_members),
            "percent": True,
            "help": _("Of the members who bought in the period, those who bought twice or more."),
        },
        {
            "label": _("Repeat purchases, non-members"),
            "value": _percent(results.repeat_rate_others),
            "percent": True,
            "help": _("The same share among the other customers."),
        },
    ]


def _tier_chart(results: Results) -> dict | None:
    if not results.tiers:
        return None
    tiers = [(_("No tier"), results.members - sum(count for _name, count in results.tiers)), *results.tiers]
    return {
        "type": "bar",
        "labels": [name for name, _count in tiers],
        "datasets": [{"label": _("Members"), "data": [count for _name, count in tiers], "color": "#0d6efd"}],
        "y": {"suggestedMin": 0, "title": _("Members")},
    }


@login_required
def results_view(request: HttpRequest) -> HttpResponse:
    _manager_or_404(request)
    form, start, end = _period(request)
    zone = timezone.get_current_timezone()
    results = programme_results(
        start=datetime.combine(start, time.min, tzinfo=zone),
        end=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )
    if request.GET.get("format") == "csv" and form.is_valid():
        return csv_response(
            filename=f"loyalty-results-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv",
            header=[_("Figure"), _("Value")],
            rows=_rows(results),
        )
    chart = _tier_chart(results)
    context = {
        "form": form,
        "start": start,
        "end": end,
        "results": results,
        "chart": chart,
        # The chart's figures as text too (screen readers, and a page printed without JavaScript).
        "chart_rows": list(zip(chart["labels"], chart["datasets"][0]["data"], strict=True)) if chart else [],
        "figures": _figures(results, programme_get().point_value),
        "section": "results",
    }
    return render(request, "loyalty/programme/results.html", context)
