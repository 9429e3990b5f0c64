"""Celery entry points of the templates side of messaging (imported by contact_plans.reactions, so
every process that runs ready() registers them)."""

import logging

from celery import shared_task

from .rendering import RenderError
from .sending import order_thank_you_send

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def order_thank_you_send_task(order_id: int) -> None:
    # No retry: the outbox's own dispatch retries delivery; a template that cannot be rendered for
    # this customer will not render better a minute later (it is logged, and the template fixed).
    try:
        order_thank_you_send(order_id=order_id)
    except RenderError as exc:
        logger.warning("messaging.thank_you_render_failed order=%s error=%s", order_id, exc)
