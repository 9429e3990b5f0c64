"""The signed links of survey emails (docs/surveys.md, "One-click answers").

A token names one invitation and, for the links of the scale, one score; it is signed with the
site's secret under a salt of its own (a token of the unsubscribe links or of the loyalty page is
refused here, and the reverse), and expires after the survey's ``link_days``. It holds no name or
address. Answering again with the same link updates the same response: a token is for an
invitation, so it can never count twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

SALT = "surveys.answer"


@dataclass(frozen=True)
class Link:
    invitation_id: int
    score: int | None
    age_seconds: float


def answer_token(invitation_id: int, score: int | None = None) -> str:
    payload = {"i": invitation_id} if score is None else {"i": invitation_id, "s": score}
    return signing.dumps(payload, salt=SALT, compress=True)


def answer_path(invitation_id: int, score: int | None = None) -> str:
    return reverse("surveys_public:answer", args=[answer_token(invitation_id, score)])


def link_read(token: str) -> Link | None:
    """The link's invitation, score and age; None when forged, changed or made for another purpose.
    Whether it has expired is the caller's check (``age_seconds`` against the survey's ``link_days``)."""
    try:
        # The signature alone here: the age is the caller's to judge against the survey's
        # link_days, so that an old link says "expired" rather than "does not work".
        value = signing.loads(token, salt=SALT)
        age = time.time() - signing.b62_decode(token.rsplit(":", 2)[-2])
    except (signing.BadSignature, ValueError, IndexError):  # SignatureExpired is a BadSignature
        return None
    if not isinstance(value, dict) or type(value.get("i")) is not int:
        return None
    score = value.get("s")
    if score is not None and type(score) is not int:
        return None
    return Link(invitation_id=value["i"], score=score, age_seconds=age)
