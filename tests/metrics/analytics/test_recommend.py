"""metrics.analytics.recommend: hit rate and precision at k, and the most-popular baseline, on
a few rows worked out by hand."""

import pandas as pd
import pytest

from metrics.analytics.recommend import most_popular, score_at_k


def frame(rows, columns):
    return pd.DataFrame(rows, columns=columns)


def test_hit_rate_and_precision_at_k_by_hand():
    recommended = frame(
        [(1, 10, 1), (1, 11, 2), (1, 12, 3), (2, 20, 1), (2, 21, 2), (3, 30, 1), (1, 13, 4)],
        ["customer_id", "product_id", "rank"],
    )
    # Customer 1 bought 11 and 13 (13 is ranked 4th: outside k = 3); 2 bought nothing recommended;
    # 3 bought 30 twice; 4 had no recommendations at all.
    bought = frame([(1, 11), (1, 13), (2, 99), (3, 30), (3, 30), (4, 10)], ["customer_id", "product_id"])

    score = score_at_k(recommended, bought, k=3)

    assert (score.customers, score.hits) == (4, 2)
    assert score.hit_rate == pytest.approx(0.5)
    assert score.precision == pytest.approx((1 + 0 + 1 + 0) / (3 * 4))


def test_customers_who_bought_nothing_are_not_judged():
    recommended = frame([(1, 10, 1), (5, 10, 1)], ["customer_id", "product_id", "rank"])
    bought = frame([(1, 10)], ["customer_id", "product_id"])

    assert score_at_k(recommended, bought, k=5).customers == 1
    assert score_at_k(recommended, bought.iloc[:0], k=5).hit_rate == 0.0
    with pytest.raises(ValueError):
        score_at_k(recommended, bought, k=0)


def test_most_popular_skips_what_each_customer_has_and_ranks_ties_by_id():
    popularity = frame([(1, 50), (2, 40), (3, 40), (4, 10), (5, 5)], ["product_id", "baskets"])
    owned = frame([(7, 1), (7, 3), (8, 5)], ["customer_id", "product_id"])

    baseline = most_popular(owned, popularity, [7, 8, 9], k=2)

    assert baseline.values.tolist() == [[7, 2, 1], [7, 4, 2], [8, 1, 1], [8, 2, 2], [9, 1, 1], [9, 2, 2]]


def test_most_popular_looks_deeper_for_a_customer_who_owns_the_best_sellers():
    popularity = frame([(p, 100 - p) for p in range(1, 21)], ["product_id", "baskets"])
    owned = frame([(1, p) for p in range(1, 12)], ["customer_id", "product_id"])

    baseline = most_popular(owned, popularity, [1], k=3)

    assert baseline["product_id"].tolist() == [12, 13, 14]
    assert most_popular(owned, popularity.iloc[:12], [1], k=3)["product_id"].tolist() == [12]
