"""The channels a message leaves by: email (Django's email backends, django-anymail for providers)
and SMS (a small backend interface of our own, ``sms.py``). Each backend says whether a failure is
temporary (``TemporaryFailure``: retried with backoff) or permanent (``PermanentFailure``)."""


class DeliveryFailure(Exception):
    """A message was not accepted; ``detail`` is what the server or provider answered."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail[:1000]


class TemporaryFailure(DeliveryFailure):
    """Try again later: SMTP 4xx, a timeout, a dropped connection, a provider's 429 or 5xx."""


class ConnectionLost(TemporaryFailure):
    """The connection itself is gone: the rest of the batch goes back to the queue."""


class PermanentFailure(DeliveryFailure):
    """Never going to work: SMTP 5xx for this recipient, a provider's 4xx."""


class Withdrawn(Exception):  # noqa: N818 (not an error: the sender's decision)
    """The sender took the message back before the server had it (its hand-over was not confirmed:
    another worker holds it now). Nothing was delivered; the connection is usable."""
