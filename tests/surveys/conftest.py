import pytest

from surveys import answers, rate_limit


@pytest.fixture(autouse=True)
def _questions_cache_per_test():
    """The answer page's per-process cache of questions, emptied around each test: SQLite hands a
    rolled-back test's ids out again (its sequence rolls back too), so the next test's survey 1 at
    version 3 would find the questions of the last one. PostgreSQL's sequences never go back, nor
    do a deployment's ids."""
    answers._QUESTIONS.clear()
    answers._SURVEYS.clear()
    yield
    answers._QUESTIONS.clear()
    answers._SURVEYS.clear()


@pytest.fixture(autouse=True)
def _rate_limit_counts_per_test():
    """The rate limit's per-process counts (surveys.rate_limit), forgotten around each test: each
    test counts its own answers, whatever cache it uses."""
    rate_limit.counts_reset()
    yield
    rate_limit.counts_reset()
