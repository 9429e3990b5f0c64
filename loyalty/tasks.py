"""Thin Celery entry points: ids in, one service call; each is safe to run twice (the ledger's unique
indexes and the reversal's arithmetic make a repeat award or take back nothing).

None retries: a failed award is found again by the next call for the same order or job, and the
nightly expiry and balance check need no retry (the next night does the same work).
"""

import logging

from celery import shared_task

from . import selectors, services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def order_points_earn_task(order_id: int) -> None:
    services.order_points_earn(order_id=order_id)


@shared_task(acks_late=True, ignore_result=True)
def order_points_reverse_task(order_id: int) -> None:
    services.order_points_reverse(order_id=order_id)


@shared_task(acks_late=True, ignore_result=True)
def import_points_earn_task(job_id: str) -> None:
    awarded = services.import_points_earn(job_id=job_id)
    logger.info("loyalty.import_earned job=%s orders=%s", job_id, awarded)


@shared_task(acks_late=True, ignore_result=True)
def points_expire_task() -> None:
    services.points_expire()


@shared_task(acks_late=True, ignore_result=True)
def loyalty_balances_check_task() -> None:
    """Nightly: every cached balance equals the sum of its entries; a drift is logged as an error."""
    drift = selectors.balance_drift()
    if drift:
        logger.error("loyalty.balance_drift members=%s first=%s", len(drift), drift[:10])


@shared_task(acks_late=True, ignore_result=True)
def member_tiers_refresh_task() -> None:
    """Nightly: rolling windows move without any order (a year-old purchase stops counting), and
    grace periods end."""
    moved = services.member_tiers_refresh()
    logger.info("loyalty.tiers_refreshed moved=%s", moved)


@shared_task(acks_late=True, ignore_result=True)
def points_expiry_remind_task() -> None:
    """Daily: the reminder before points expire (once a month per member, by its source key)."""
    reminded = services.points_expiry_remind()
    logger.info("loyalty.expiry_reminded members=%s", reminded)


@shared_task(acks_late=True, ignore_result=True)
def birthday_bonus_task() -> None:
    """Daily: the birthday bonus, once a year per member (its key), days missed caught up."""
    from .birthdays import birthday_bonus_award

    birthday_bonus_award()


@shared_task(acks_late=True, ignore_result=True)
def referrals_reward_task() -> None:
    """Daily: referrals whose first purchase stood unrefunded for the waiting days are rewarded."""
    from .referrals import referrals_reward

    referrals_reward()


@shared_task(acks_late=True, ignore_result=True)
def contest_draw_task(contest_id: int, user_id: int | None = None) -> None:
    """A contest's draw, off the request (its entries may be a million members'). Once: a contest
    already drawn is left as it is (a retry, a second click)."""
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError

    from .contests import contest_draw
    from .models import Contest

    if not Contest.objects.filter(pk=contest_id, drawn_at__isnull=True).exists():
        return
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        contest_draw(contest_id=contest_id, user=user)
    except ValidationError as exc:  # drawn meanwhile, or not ended: nothing to do
        logger.info("loyalty.contest_not_drawn contest=%s reason=%s", contest_id, " ".join(exc.messages))


@shared_task(acks_late=True, ignore_result=True)
def contest_survey_entry_task(response_id: str, customer_id: int, answered_at: str) -> None:
    """A survey answered at ``answered_at`` (ISO): an entry in each contest "one per survey answered"
    running then. Idempotent: a response enters a contest once."""
    from datetime import datetime

    from .contests import survey_answer_enter

    survey_answer_enter(
        customer_id=customer_id, response_id=response_id, answered_at=datetime.fromisoformat(answered_at)
    )
