"""Is a free-text comment negative? A small word list in the four languages that ship.

Deliberately simple and explainable: a comment counts as negative when it holds one of these
words or phrases (case- and accent-insensitive, whole words). It only opens a follow-up task
beside the score's own rule, so a false alarm costs a call, and a miss is still caught by the score.
"""

import re
import unicodedata

NEGATIVE = {
    # English
    "bad", "terrible", "awful", "horrible", "worst", "poor", "broken", "rude", "slow", "late", "never again",
    "disappointed", "disappointing", "angry", "unhappy", "useless", "refund", "complaint", "cancel", "hate",
    # Bahasa Indonesia
    "buruk", "jelek", "kecewa", "mengecewakan", "lambat", "terlambat", "rusak", "kasar", "marah", "parah",
    "tidak puas", "payah",
    # Bahasa Melayu
    "teruk", "hampa", "perlahan", "lewat", "rosak", "biadap", "tidak berpuas hati",
    # Català
    "dolent", "dolenta", "pèssim", "pèssima", "decebut", "decebuda", "lent", "lenta", "tard",
    "trencat", "trencada", "maleducat", "enfadat", "mai més", "queixa",
}  # fmt: skip


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_PATTERN = re.compile(
    r"\b(" + "|".join(sorted((re.escape(_fold(w)) for w in NEGATIVE), key=len, reverse=True)) + r")\b"
)


def is_negative(text: str) -> bool:
    return bool(_PATTERN.search(_fold(text or "")))
