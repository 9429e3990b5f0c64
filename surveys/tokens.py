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
# The longest any survey's links may live (Survey.link_days is at most 365); the survey's own
# limit is checked against the token's timestamp after it is read.
MAX_AGE_SECONDS = 366 * 86400


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
    """The link's invitation and score; None when forged, changed, made for another purpose, or
    older than any survey keeps its links (the survey's own ``link_days`` is the caller's check,
    with ``age_seconds``)."""
    try:
        value = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
        age = time.time() - signing.b62_decode(token.rsplit(":", 2)[-2])
    except (signing.BadSignature, ValueError, IndexError):  # SignatureExpired is a BadSignature
        return None
    if not isinstance(value, dict) or type(value.get("i")) is not int:
        return None
    score = value.get("s")
    if score is not None and type(score) is not int:
        return None
    return Link(invitation_id=value["i"], score=score, age_seconds=age)
