"""The survey figures of ../shared/docs/metrics.md, from counts of answers per score. Pure: no
Django, so that the same arithmetic serves the page, the CSV, the API and the tests.

- NPS and eNPS (0-10): % promoters (9-10) - % detractors (0-6), from -100 to +100;
- CSAT (1-5): % of answers that are 4 or 5;
- CES (1-7): the mean answer;
- response rate: answered invitations / delivered invitations.

A survey's figure follows the scale of its first question: 0-10 is an NPS, 1-5 a CSAT, 1-7 a CES
(a pulse survey's 1-5 first question reads as a CSAT of that question).
"""

from __future__ import annotations

from collections.abc import Mapping

# The smallest group whose figures an anonymous (or any employee) survey shows (metrics.md).
MIN_GROUP = 5

METRIC_OF_SCALE = {"scale_0_10": "nps", "scale_1_5": "csat", "scale_1_7": "ces"}


def nps(counts: Mapping[int, int]) -> float | None:
    total = sum(counts.values())
    if not total:
        return None
    promoters = sum(n for score, n in counts.items() if score >= 9)
    detractors = sum(n for score, n in counts.items() if score <= 6)
    return 100.0 * (promoters - detractors) / total


def csat(counts: Mapping[int, int]) -> float | None:
    total = sum(counts.values())
    if not total:
        return None
    return 100.0 * sum(n for score, n in counts.items() if score >= 4) / total


def ces(counts: Mapping[int, int]) -> float | None:
    total = sum(counts.values())
    if not total:
        return None
    return sum(score * n for score, n in counts.items()) / total


FIGURES = {"nps": nps, "csat": csat, "ces": ces}


def figure(metric: str, counts: Mapping[int, int]) -> float | None:
    return FIGURES[metric](counts)


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def shown(count: int, *, grouped_anonymity: bool) -> bool:
    """May a group of ``count`` answers be shown? Always, unless the survey keeps groups of five."""
    return not grouped_anonymity or count >= MIN_GROUP


def recovery_rate(detractors: int, recovered: int) -> float | None:
    """Of the detractors whose follow-up was completed, the share who recovered (metrics.md)."""
    return rate(recovered, detractors)
