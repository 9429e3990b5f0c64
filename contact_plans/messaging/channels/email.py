"""Email through Django's email backends (SMTP by default, django-anymail for providers).

One connection per batch (``EmailChannel``); each message is sent on its own, so that its answer
(accepted, refused, temporary) is recorded before the next one is handed over. SMTP answers are
classified by their code: 4xx temporary, 5xx permanent; a dropped connection or a timeout is
temporary and ends the batch (the rest goes back to the queue).
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from . import ConnectionLost, PermanentFailure, TemporaryFailure


def email_build(
    *, to: str, subject: str, html: str, text: str, message_id: str, headers: dict | None = None, connection=None
) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={"Message-ID": message_id, **(headers or {})},
        connection=connection,
    )
    if html:
        email.attach_alternative(html, "text/html")
    return email


def _smtp_code_failure(code: int, detail: str):
    return TemporaryFailure(detail) if 400 <= code < 500 else PermanentFailure(detail)


def _anymail_failure(exc):
    from anymail.exceptions import AnymailRecipientsRefused, AnymailRequestsAPIError

    if isinstance(exc, AnymailRecipientsRefused):
        return PermanentFailure(f"provider refused the recipient: {exc}")
    if isinstance(exc, AnymailRequestsAPIError):
        status = exc.status_code or 0
        if status == 429 or status >= 500 or status == 0:
            return TemporaryFailure(f"provider answered {status}: {str(exc)[:300]}")
        return PermanentFailure(f"provider refused ({status}): {str(exc)[:300]}")
    return TemporaryFailure(f"provider error: {str(exc)[:300]}")


class EmailChannel:
    """The batch's connection: ``send`` returns the provider's id ("" for SMTP) or raises."""

    def __init__(self):
        self.connection = get_connection(fail_silently=False)

    def open(self) -> None:
        try:
            self.connection.open()
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectionLost(f"could not connect to the mail server: {exc}") from exc

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:  # closing a connection the server already dropped
            pass

    def send(self, email: EmailMultiAlternatives) -> str:
        from anymail.exceptions import AnymailError

        email.connection = self.connection
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()))
            raise _smtp_code_failure(code, f"recipient refused: {code} {answer.decode(errors='replace')}") from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise ConnectionLost(f"the mail server closed the connection: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            detail = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
            if exc.smtp_code in (421,):  # "service not available, closing channel"
                raise ConnectionLost(detail) from exc
            raise _smtp_code_failure(exc.smtp_code, detail) from exc
        except TimeoutError as exc:
            raise ConnectionLost("the mail server did not answer in time") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectionLost(f"mail server error: {exc}") from exc
        except AnymailError as exc:
            raise _anymail_failure(exc) from exc
        status = getattr(email, "anymail_status", None)
        return (getattr(status, "message_id", None) or "")[:200] if status else ""
