"""Sending a template to a customer: render it in the customer's language, then hand the result to
the outbox (``message_enqueue``), which decides consent, suppression and when it goes.

The source key is the idempotency of the whole step: the outbox keeps one message per key, so a
retried task or a redelivered event sends nothing twice (``order-thank-you:<order id>``).
"""

import logging

from customers.models import Order

from ..models import MessageTemplate
from .outbox import message_enqueue
from .placeholders import order_summary, recommended_for_order
from .rendering import render_message

logger = logging.getLogger(__name__)

ORDER_THANK_YOU_KEY = "order-thank-you"


def send_template(*, template: MessageTemplate, customer, source_key: str, due_at=None, extra=None, created_by=None):
    """Render ``template`` for ``customer`` and put the message in the outbox (RenderError when the
    template cannot be rendered for them: nothing is queued)."""
    rendered = render_message(template, customer, extra=extra)
    return message_enqueue(
        customer=customer,
        channel=template.channel,
        purpose=template.purpose,
        source_key=source_key,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        language=rendered.language,
        template=template,
        topic=template.topic,
        due_at=due_at,
        created_by=created_by,
    )


def order_thank_you_send(*, order_id: int):
    """Thank the customer for a purchase with the ``order-thank-you`` template, once per order.

    Nothing when the template is missing or inactive (that is how it is switched off), or when the
    order is not a purchase (a refund is recorded as an order too)."""
    order = Order.objects.select_related("customer").filter(pk=order_id).first()
    if order is None or order.kind != Order.Kind.PURCHASE:
        return None
    template = MessageTemplate.objects.filter(key=ORDER_THANK_YOU_KEY, is_active=True).first()
    if template is None:
        logger.info("messaging.thank_you_skipped order=%s reason=no_active_template", order_id)
        return None
    return send_template(
        template=template,
        customer=order.customer,
        source_key=f"{ORDER_THANK_YOU_KEY}:{order.pk}",
        # Called while rendering, so that its total is written in the message's language.
        extra={
            "order": lambda customer: order_summary(order),
            # What goes with this order's products first (docs/messaging.md, "Recommended products").
            "recommended_products": lambda customer: recommended_for_order(order),
        },
    )


def message_output(message) -> dict:
    """What the API answers about a queued message (the outbox's row, as plain data)."""
    return {
        "id": message.pk,
        "customer_id": message.customer_id,
        "template_id": message.template_id,
        "channel": message.channel,
        "purpose": message.purpose,
        "language": message.language,
        "source_key": message.source_key,
        "state": message.state,
        "reason": getattr(message, "reason", "") or "",
        "due_at": message.due_at,
    }
