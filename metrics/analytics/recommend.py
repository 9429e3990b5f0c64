"""How good are product recommendations? Hit rate and precision at k against what customers then
bought, and the most-popular baseline to beat (bench/recommend_bench.py, docs/benchmarks.md).

Pure: DataFrames in, numbers out; no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class RecommendationScore:
    customers: int  # customers judged: those with recommendations' basis and a later purchase
    hits: int  # of whom at least one of their k recommendations was bought
    hit_rate: float  # hits / customers
    precision: float  # mean over customers of (recommended and bought) / k
    k: int


def score_at_k(recommended: pd.DataFrame, bought: pd.DataFrame, *, k: int = 5) -> RecommendationScore:
    """Hit rate@k and precision@k.

    ``recommended``: customer_id, product_id, rank (1 = best; only ranks <= k count).
    ``bought``: customer_id, product_id: what each judged customer bought in the holdout (one row per
    product; duplicates are ignored). Every customer in ``bought`` is judged; one without
    recommendations counts as a miss (precision 0).
    """
    if k <= 0:
        raise ValueError("k must be positive")
    bought = bought[["customer_id", "product_id"]].drop_duplicates()
    customers = int(bought["customer_id"].nunique())
    if customers == 0:
        return RecommendationScore(0, 0, 0.0, 0.0, k)
    top = recommended.loc[recommended["rank"] <= k, ["customer_id", "product_id"]].drop_duplicates()
    matched = top.merge(bought, on=["customer_id", "product_id"], how="inner")
    per_customer = matched.groupby("customer_id").size()
    per_customer = per_customer[per_customer.index.isin(bought["customer_id"].unique())]
    hits = int((per_customer > 0).sum())
    return RecommendationScore(
        customers=customers,
        hits=hits,
        hit_rate=hits / customers,
        precision=float(per_customer.sum()) / (k * customers),
        k=k,
    )


def most_popular(owned: pd.DataFrame, popularity: pd.DataFrame, customers, *, k: int = 5) -> pd.DataFrame:
    """The baseline: for each customer, the k most popular products they do not have.

    ``owned``: customer_id, product_id. ``popularity``: product_id, baskets (ties broken by product
    id). ``customers``: the customer ids to recommend to. Returns customer_id, product_id, rank.
    """
    ranked = popularity.sort_values(["baskets", "product_id"], ascending=[False, True])["product_id"].to_numpy()
    wanted = pd.Index(pd.unique(pd.Series(list(customers), dtype="int64")), name="customer_id")
    owned = owned[["customer_id", "product_id"]].drop_duplicates().assign(owned=True)
    # The best `pool` products for every customer, less what they own; a customer who owns so many
    # of them that fewer than k remain is served from a pool twice as deep, and so on.
    pool = k
    while True:
        top = pd.DataFrame({"product_id": ranked[:pool], "order": range(min(pool, len(ranked)))})
        grid = pd.DataFrame({"customer_id": wanted}).merge(top, how="cross")
        grid = grid.merge(owned, on=["customer_id", "product_id"], how="left")
        grid = grid[grid["owned"].isna()].sort_values(["customer_id", "order"])
        grid["rank"] = grid.groupby("customer_id").cumcount() + 1
        grid = grid[grid["rank"] <= k]
        short = grid.groupby("customer_id").size().reindex(wanted, fill_value=0) < k
        if not short.any() or pool >= len(ranked):
            return grid[["customer_id", "product_id", "rank"]].reset_index(drop=True).astype("int64")
        pool *= 2
