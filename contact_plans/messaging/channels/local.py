"""The local outbox: backends that keep what would be sent in the database (LocalDelivery), so
that ``make run`` works without a mail server or SMS provider. Administrators read it at
/messaging/outbox/ (contact_plans/messaging/outbox_views.py)."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend

from .sms import BaseSmsBackend


def _html_of(email) -> str:
    for content, mimetype in getattr(email, "alternatives", []) or []:
        if mimetype == "text/html":
            return content
    return ""


class LocalOutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        from contact_plans.models import LocalDelivery

        for email in email_messages:
            headers = {name: str(value) for name, value in (email.extra_headers or {}).items()}
            LocalDelivery.objects.create(
                channel="email",
                recipient=", ".join(email.to),
                subject=email.subject[:255],
                html=_html_of(email),
                text=email.body,
                headers=headers,
                message_id=headers.get("Message-ID", "")[:200],
            )
        return len(email_messages)


class LocalOutboxSmsBackend(BaseSmsBackend):
    def send(self, *, to: str, text: str, reference: str) -> str:
        from contact_plans.models import LocalDelivery

        delivery = LocalDelivery.objects.create(channel="sms", recipient=to, text=text, message_id=reference)
        return f"local-{delivery.pk}"
