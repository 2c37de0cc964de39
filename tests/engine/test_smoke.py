"""A realistic volume: 200 000 generated rows for 20 000 customers in two
companies run through the whole engine; shape and sanity only."""

import numpy as np
import pandas as pd
import retention_engine as engine
from engine_scenario import AS_OF

ROWS, CUSTOMERS = 200_000, 20_000


def generated_transactions(seed=42):
    """Customers 1..10 000 in company 1 and 10 001..20 000 in company 2, three
    years of history and a few rows after AS_OF; one row in twenty a refund,
    and the last 100 customers have nothing but refunds."""
    rng = np.random.default_rng(seed)
    customer = np.concatenate(
        [np.arange(CUSTOMERS), rng.integers(0, CUSTOMERS, ROWS - CUSTOMERS)]
    )
    refund = (rng.random(ROWS) < 0.05) | (customer >= CUSTOMERS - 100)
    amount = np.round(rng.gamma(2.0, 40.0, ROWS), 2)
    return pd.DataFrame(
        {
            "company_id": np.where(customer < CUSTOMERS // 2, 1, 2),
            "partner_id": customer + 1,
            "date": AS_OF - pd.to_timedelta(rng.integers(-10, 3 * 365, ROWS), unit="D"),
            "amount": np.where(refund, -amount / 2, amount),
            "is_visit": ~refund,
            "category_id": rng.integers(0, 6, ROWS),
        }
    )[engine.TRANSACTION_COLUMNS]


def test_two_hundred_thousand_rows():
    transactions = generated_transactions()
    settings = {
        1: engine.RetentionSettings(),
        2: engine.RetentionSettings(lookback_days=0, trend_period="year"),
    }
    partners = np.arange(1, CUSTOMERS // 2 + 1)
    # Company 1 ranks in five groups, every seventh customer without a value.
    keys = np.where(partners % 7, partners % 5, None)
    groups = pd.DataFrame({"company_id": 1, "partner_id": partners, "group_key": keys})
    result = engine.compute_metrics(transactions, AS_OF, settings, groups=groups)

    past = transactions[transactions["date"] <= AS_OF]
    assert list(result.columns) == engine.METRIC_COLUMNS
    assert len(result) == past.groupby(["company_id", "partner_id"]).ngroups
    assert not result.duplicated(["company_id", "partner_id"]).any()

    has_visit = result["lifetime_visits"] > 0
    assert (~has_visit).sum() == 100
    assert (result["first_order_date"].notna() == has_visit).all()
    assert (result["status"].notna() == has_visit).all()
    assert (result["profile"].notna() == has_visit).all()
    assert (result["action"].notna() == has_visit).all()
    for column, choices in (
        ("status", engine.STATUSES),
        ("profile", engine.PROFILES),
        ("alert", engine.ALERTS),
        ("action", engine.ACTIONS),
        ("group_tier", engine.TIERS),
    ):
        assert set(result[column].dropna()) <= {key for key, _label in choices}

    seen = result[has_visit]
    assert (seen["first_order_date"] <= seen["last_order_date"]).all()
    assert (seen["last_order_date"] <= AS_OF).all()
    assert (seen["days_since_last"] >= 0).all()
    assert (result["visit_count"] <= result["lifetime_visits"]).all()
    assert (result["visits_365"] <= result["lifetime_visits"]).all()
    assert (result["cadence_days"].dropna() >= 1).all()
    assert result.loc[result["status"] == "lost", "alert"].isna().all()

    ranked = result["revenue"] > 0
    assert result.loc[ranked, "group_top_pct"].between(0, 100, inclusive="right").all()
    assert result.loc[~ranked, "group_top_pct"].isna().all()

    # Company 2 looks at its whole history: every visit and every amount counts.
    two = result[result["company_id"] == 2]
    assert (two["visit_count"] == two["lifetime_visits"]).all()
    assert np.isclose(
        two["revenue"].sum(), past.loc[past["company_id"] == 2, "amount"].sum()
    )

    sentences = engine.render_reasons(result, settings)
    assert (sentences.notna() == has_visit).all()
