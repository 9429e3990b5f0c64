"""The customer's own standing page, reached through a signed link in their emails (no login).

The link carries the customer's id signed with the secret key and a salt of its own (it opens this
page and nothing else) and a timestamp: it works for ``LINK_MAX_AGE`` after it was made. Whoever
holds the link sees that customer's points and may spend them on a reward, as the customer would
at the till; they learn nothing of anyone else.
"""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.urls import reverse

SALT = "loyalty.standing"
# Long enough for a monthly statement email to stay useful until the next one, short enough that a
# forwarded or leaked link stops working.
LINK_MAX_AGE = timedelta(days=45)


def standing_token(customer_id: int) -> str:
    return signing.dumps(customer_id, salt=SALT, compress=True)


def standing_path(customer_id: int) -> str:
    return reverse("loyalty:standing", args=[standing_token(customer_id)])


def standing_customer_id(token: str) -> int | None:
    """The customer of a valid, unexpired token; None otherwise (forged, expired, another purpose)."""
    try:
        customer_id = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    return customer_id if isinstance(customer_id, int) else None
