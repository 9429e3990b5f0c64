"""Email through Django's email backends (SMTP by default, django-anymail for providers).

An email's bytes are prepared once, when it is queued (``email_prepare``); over SMTP the worker
hands those bytes to the server as they are (``EmailChannel.send_prepared``), as a bare smtplib
loop would. Other backends (the local outbox, django-anymail's providers) get the message built
from the row's parts (``email_build``, ``EmailChannel.send``).

Each message is sent on its own, so that its answer (accepted, refused, temporary) is recorded
before the next one is handed over. A prepared message goes in the SMTP transaction's steps
(``MAIL``, ``RCPT``, then ``DATA``), with a check of the sender's between ``RCPT`` and ``DATA``:
nothing is delivered before ``DATA`` ends, so the worker's database write for the hand-over can
run during the first two round trips and be confirmed before the message can be accepted. SMTP answers are classified by their code: 4xx temporary, 5xx
permanent; a dropped connection or a timeout is temporary and ends the batch (the rest goes back
to the queue).
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address

from . import ConnectionLost, PermanentFailure, TemporaryFailure, Withdrawn


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


def email_prepare(
    *, to: str, subject: str, html: str, text: str, message_id: str, headers: dict | None = None
) -> bytes:
    """The complete RFC 5322 message (headers, Date included, and MIME body) as the SMTP backend
    would put it on the wire: built once, at enqueue, and sent byte for byte at every attempt."""
    email = email_build(to=to, subject=subject, html=html, text=text, message_id=message_id, headers=headers)
    return email.message().as_bytes(linesep="\r\n")


def _refused(smtp: smtplib.SMTP, code: int) -> None:
    """After a refusal, as ``sendmail`` does: 421 closes the connection, anything else resets the
    transaction so that the connection serves the next message."""
    if code == 421:
        smtp.close()
    else:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            smtp.rset()


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
        self.sender: str | None = None  # the envelope's sender, as the SMTP backend writes it

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

    @property
    def sends_prepared(self) -> bool:
        """Whether prepared bytes can go as they are: only an SMTP connection takes them."""
        return isinstance(self.connection, SmtpBackend)

    def is_open(self) -> bool:
        """A cheap check of a connection kept from an earlier batch (NOOP: one round trip)."""
        smtp = getattr(self.connection, "connection", None)
        if smtp is None:
            return False
        try:
            return smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def send_prepared(self, *, to: str, raw: bytes, before_data: Callable[[], bool] | None = None) -> str:
        """Hand prepared bytes to the SMTP server; returns "" (SMTP has no provider id) or raises.

        ``before_data`` is called once the server has taken the envelope (``MAIL``, ``RCPT``) and
        before ``DATA``, the only step that delivers: when it returns False the transaction is
        reset (``RSET``: the server forgets it) and ``Withdrawn`` raised. The same conversation
        as ``smtplib``'s ``sendmail`` otherwise (its ``SIZE``, its handling of 421 and refusals).
        """
        if self.sender is None:
            self.sender = sanitize_address(settings.DEFAULT_FROM_EMAIL, settings.DEFAULT_CHARSET)
        with self._answers():
            smtp = self.connection.connection
            smtp.ehlo_or_helo_if_needed()
            options = [f"size={len(raw)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
            code, answer = smtp.mail(self.sender, options)
            if code != 250:
                _refused(smtp, code)
                raise smtplib.SMTPSenderRefused(code, answer, self.sender)
            code, answer = smtp.rcpt(to)
            if code not in (250, 251):
                _refused(smtp, code)
                raise smtplib.SMTPRecipientsRefused({to: (code, answer)})
            if before_data is not None and not before_data():
                smtp.rset()
                raise Withdrawn("the hand-over was not confirmed")
            try:
                code, answer = smtp.data(raw)  # DATA, then (on 354) the bytes and the final dot
            except smtplib.SMTPDataError as exc:  # DATA itself refused
                _refused(smtp, exc.smtp_code)
                raise
            if code != 250:
                _refused(smtp, code)
                raise smtplib.SMTPDataError(code, answer)
        return ""

    def send(self, email: EmailMultiAlternatives) -> str:
        email.connection = self.connection
        with self._answers():
            email.send()
        status = getattr(email, "anymail_status", None)
        return (getattr(status, "message_id", None) or "")[:200] if status else ""

    @contextlib.contextmanager
    def _answers(self):
        """The server's or provider's refusals as TemporaryFailure / PermanentFailure / ConnectionLost."""
        from anymail.exceptions import AnymailError

        try:
            yield
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
