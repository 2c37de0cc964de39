"""Calibrated mode's verdict (engine/judgement.py): the label that knows a
customer's rhythm, the combined model, the threshold chosen on the
business's own past, and one status per customer that never contradicts
its chance."""

import json

import numpy as np
import pandas as pd
import pytest
from engine_scenario import AS_OF, ago, tx
from retention_engine import (
    JUDGEMENT_COLUMNS,
    TRANSACTION_COLUMNS,
    Judgement,
    backtest,
    calibrate_judgement,
    compute_metrics,
    fit_models,
    judge,
    judgements_of,
    label_factors,
    model_records,
    render_reasons,
    return_windows,
    score,
)
from retention_engine.judgement import best_threshold
from retention_engine.predict import COMBINED_FEATURES


def frame(rows):
    return pd.DataFrame(list(rows), columns=TRANSACTION_COLUMNS)


# --- The label ------------------------------------------------------------------


def test_the_window_to_come_back_follows_the_rhythm():
    cadence = [np.nan, 30.0, 100.0, 300.0]
    # k = 1.25: no rhythm -> H; 37.5 < 91 -> H; 125; 375 capped at 3 x 91.
    assert return_windows(cadence, 91, 1.25).tolist() == [91, 91, 125, 273]
    # k = 0: the horizon alone.
    assert return_windows(cadence, 91, 0.0).tolist() == [91, 91, 91, 91]


def gaps_of(gaps, customers=60, company=1):
    """``customers`` customers whose visits are ``gaps`` days apart, the last
    one 5 days before AS_OF."""
    rows = []
    for partner in range(1, customers + 1):
        day = 5
        rows.append(tx(partner, day, 10.0, company=company))
        for gap in reversed(gaps):
            day += gap
            rows.append(tx(partner, day, 10.0, company=company))
    return frame(rows)


def test_the_label_factor_is_how_far_past_their_rhythm_customers_come_back():
    # Every interval is the usual one: ratios all 1 -> k = 1.25, the first
    # factor at or above the 90 % quantile.
    assert label_factors(gaps_of([30, 30, 30, 30]), AS_OF) == {1: 1.25}
    # Eight intervals of 30 and two of 42 (median 30): ratios 1 (80 %) and
    # 1.4 (20 %); the 90 % quantile is 1.4 -> k = 1.5.
    regular = [30] * 8 + [42, 42]
    assert label_factors(gaps_of(regular), AS_OF) == {1: 1.5}
    # Intervals 10, 10, 10, 100 (median 10): a quarter of the ratios are 10,
    # beyond any factor: customers come back after any gap -> k = 0.
    assert label_factors(gaps_of([10, 10, 10, 100]), AS_OF) == {1: 0.0}
    # 33 customers with three intervals: 99, fewer than 100 -> 0; 34: 102.
    assert label_factors(gaps_of([30, 30, 30], customers=33), AS_OF) == {1: 0.0}
    assert label_factors(gaps_of([30, 30, 30], customers=34), AS_OF) == {1: 1.25}
    # Two intervals are too few to tell a customer's rhythm: nobody counts.
    assert label_factors(gaps_of([30, 30]), AS_OF) == {1: 0.0}


# --- The threshold ----------------------------------------------------------------


def test_the_threshold_has_the_best_j_the_smallest_of_equals():
    chance = np.array([10, 20, 30, 40, 60, 80], dtype=float)
    gone = np.array([1, 1, 0, 1, 0, 0], dtype=bool)
    # Flagged below t: t = 15 flags 10 (J 1/3); 25 flags 10, 20 (2/3 - 0);
    # 35 adds a stayer (2/3 - 1/3); 45 adds a leaver (1 - 1/3 = 2/3); 70
    # adds a stayer (1 - 2/3). Best 2/3 at 25 and 45: 25.
    threshold, counts = best_threshold(chance, gone, (15, 25, 35, 45, 70))
    assert threshold == 25
    assert counts == {"tp": 2, "fp": 0, "fn": 1, "tn": 3, "n": 6}


# --- The verdict ------------------------------------------------------------------

THRESHOLD = Judgement(kind="chance", chance_threshold=35.0, label_factor=0.0)


def verdict(chances, judgement=THRESHOLD, extra=()):
    """judge() of the scenario below with ``chances`` {partner: percent}
    (None: no prediction), indexed by (company, partner)."""
    rows = frame(
        [
            # 1: visits 120, 60 and 5 days ago: cadence 57.5, active by the
            # rule (5 <= 1.5 x 57.5); 20 in each of the last two quarters.
            tx(1, 120, 20),
            tx(1, 60, 10),
            tx(1, 5, 10),
            # 2 and 3: first (and only) visit 10 days ago: new by the rule.
            tx(2, 10, 10),
            tx(3, 10, 10),
            # 4: last visit 400 days ago: lost by the rule.
            tx(4, 420, 10),
            tx(4, 400, 10),
            # 5: visits 200 and 100 days ago: cadence 100, at risk beyond 150.
            tx(5, 200, 10),
            tx(5, 100, 10),
            # 6: visits 140 and 40 days ago: cadence 100, active.
            tx(6, 140, 10),
            tx(6, 40, 10),
            # 7: as 1, without a chance.
            tx(7, 120, 20),
            tx(7, 60, 10),
            tx(7, 5, 10),
            *extra,
        ]
    )
    metrics = compute_metrics(rows, AS_OF)
    predictions = metrics[["company_id", "partner_id"]].assign(
        return_probability=[
            np.nan if chances.get(p) is None else chances[p]
            for p in metrics["partner_id"]
        ],
        model=[
            None if chances.get(p) is None else "combined"
            for p in metrics["partner_id"]
        ],
    )
    judged = judge(metrics, predictions, judgement, AS_OF)
    return metrics.set_index(["company_id", "partner_id"]), judged.set_index(
        ["company_id", "partner_id"]
    )


CHANCES = {1: 20.0, 2: 10.0, 3: 50.0, 4: 5.0, 5: 80.0, 6: 35.0, 7: None}


def test_the_chance_decides_the_status_in_calibrated_mode():
    before, after = verdict(CHANCES)
    assert before["status"].to_dict() == {
        (1, 1): "active",
        (1, 2): "new",
        (1, 3): "new",
        (1, 4): "lost",
        (1, 5): "active",
        (1, 6): "active",
        (1, 7): "active",
    }
    # Below 35 %: at risk (1: active by the rule; 2: new, flagged like
    # anyone), lost after more than 365 days (4). At or above: new (3, first
    # order 10 days ago <= 90), active (5; 6 at exactly 35 %). 7 has no
    # chance: the rule's status.
    assert after["status"].to_dict() == {
        (1, 1): "at_risk",
        (1, 2): "at_risk",
        (1, 3): "new",
        (1, 4): "lost",
        (1, 5): "active",
        (1, 6): "active",
        (1, 7): "active",
    }
    assert after["decided_by"].to_dict() == {
        (1, p): "cadence" if p == 7 else "chance" for p in range(1, 8)
    }
    assert after.loc[(1, 1), "chance_threshold"] == 35
    assert np.isnan(after.loc[(1, 7), "chance_threshold"])
    # k = 0: every chance is for the horizon (90 days).
    assert after.loc[(1, 1), "return_days"] == 90
    # Alert and action follow the status: 1 is now at risk (reactivation).
    assert after.loc[(1, 1), ["alert", "action"]].tolist() == [
        "at_risk",
        "reactivation",
    ]
    assert after.loc[(1, 4), "action"] == "win_back"


def test_status_and_chance_never_contradict():
    rng = np.random.default_rng(5)
    for _draw in range(20):
        chances = {p: float(rng.uniform(0, 100)) for p in range(1, 7)}
        _before, after = verdict(chances)
        mine = after[after["decided_by"] == "chance"]
        flagged = mine["status"].isin(["at_risk", "lost"])
        assert (flagged == (mine["return_probability"] < 35)).all()


def test_the_cadence_kind_and_other_companies_keep_the_rule():
    before, after = verdict(CHANCES, judgement=Judgement())
    pd.testing.assert_series_equal(before["status"], after["status"])
    assert (after["decided_by"] == "cadence").all()
    # A company missing from the dict: the rule.
    other = [tx(1, 5, 10, company=2)]
    before, after = verdict(CHANCES, judgement={1: THRESHOLD}, extra=other)
    assert after.loc[(2, 1), "status"] == before.loc[(2, 1), "status"] == "new"
    assert after.loc[(2, 1), "decided_by"] == "cadence"


def test_the_window_of_a_regular_customer():
    # k = 1.25: partner 5 (cadence 100) has max(90, 125) = 125 days.
    judgement = Judgement(kind="chance", chance_threshold=35.0, label_factor=1.25)
    _before, after = verdict(CHANCES, judgement=judgement)
    assert after.loc[(1, 5), "return_days"] == 125
    assert after.loc[(1, 1), "return_days"] == 90
    assert np.isnan(after.loc[(1, 7), "return_days"])


def test_the_sentence_says_which_evidence_decided():
    _before, after = verdict(CHANCES)
    sentences = render_reasons(after.reset_index()).set_axis(after.index)
    # 1: gaps 60 and 55 -> usually every 57.5 -> 58 days (half up).
    assert sentences[(1, 1)] == (
        "Chance of return 20 % within 90 days, below the 35 % at which this "
        "business's own past says customers are lost; last order 5 days ago, "
        "usually every 58 days."
    )
    assert sentences[(1, 2)] == (
        "Chance of return 10 % within 90 days, below the 35 % at which this "
        "business's own past says customers are lost; last order 10 days ago, "
        "1 visit(s) so far."
    )
    assert sentences[(1, 3)] == (
        "Chance of return 50 % within 90 days, at or above the 35 % below which "
        "this business's own past says customers are lost; first order 10 days ago, "
        "1 visit(s) so far."
    )
    assert sentences[(1, 4)] == (
        "Chance of return 5 % within 90 days, below the 35 % at which this "
        "business's own past says customers are lost; no order for 400 days, more "
        "than 365: the customer counts as lost."
    )
    # 5: last order 100 days ago, cadence 100: next expected 100 days after
    # it, i.e. today (2025-06-30); nothing this quarter against 10 in the
    # previous one (the visit 100 days ago): down 100 %.
    assert sentences[(1, 5)] == (
        "Chance of return 80 % within 90 days, at or above the 35 % below which "
        "this business's own past says customers are lost; last order 100 days ago, "
        "usually every 100 days; next order expected around 2025-06-30. Spending "
        "down 100% vs the previous quarter."
    )
    # 7: no chance: the rule's sentence, as in fixed mode (next order 5 days
    # ago + 58 days: 2025-06-25 + 58 = 2025-08-22).
    assert sentences[(1, 7)] == (
        "Last order 5 days ago; usually every 58 days; next order expected around "
        "2025-08-22."
    )


# --- The combined model and the calibration ------------------------------------------


def regulars(count=400, company=1, seed=4):
    """Customers who come on their rhythm (every 14 to 120 days, +-5 %),
    arriving over 900 days, 40 % of them stopping for good at some point;
    and as many who come once and never again, whom the rule of the
    settings flags only after 180 days (or never, while new)."""
    rng = np.random.default_rng(seed)
    rows = [
        tx(count + partner, int(rng.integers(1, 900)), 30.0, company=company)
        for partner in range(1, count + 1)
    ]
    for partner in range(1, count + 1):
        cadence = rng.choice([14, 30, 60, 120])
        day = int(rng.integers(200, 900))
        stop = int(rng.integers(0, day)) if rng.random() < 0.4 else -1
        while day > max(stop, 0):
            rows.append(tx(partner, day, 50.0, company=company))
            day -= max(1, int(round(cadence * rng.normal(1, 0.05))))
    return frame(rows)


@pytest.fixture(scope="module")
def rhythmic():
    return regulars()


@pytest.fixture(scope="module")
def calibrated(rhythmic):
    return calibrate_judgement(rhythmic, AS_OF)


def test_a_regular_business_is_judged_by_a_chance_that_knows_its_rhythm(calibrated):
    assert list(calibrated.columns) == JUDGEMENT_COLUMNS
    row = calibrated.iloc[0]
    # Intervals within 5 % of the usual one: k = 1.25; the day of the flags
    # is 3 x 90 days back, so that every window ends by AS_OF.
    assert row["label_factor"] == 1.25
    assert row["flagged_on"] == ago(270).date()
    assert row["kind"] == "chance"
    assert 1 <= row["chance_threshold"] <= 99
    # The chance told the leavers better than the rule of the settings.
    assert row["youden_j"] > row["cadence_youden_j"]
    assert row["tp"] + row["fp"] + row["fn"] + row["tn"] == row["n"]
    judgement = judgements_of(calibrated)[1]
    assert judgement == Judgement("chance", float(row["chance_threshold"]), 1.25, 90)
    assert Judgement.from_dict(json.loads(json.dumps(judgement.as_dict()))) == (
        judgement
    )


def test_the_calibration_ignores_what_comes_after_as_of(rhythmic, calibrated):
    later = frame(tx(partner, ago(-5), 10.0) for partner in range(1, 100))
    again = calibrate_judgement(pd.concat([rhythmic, later]), AS_OF)
    pd.testing.assert_frame_equal(calibrated, again)


def test_a_small_company_is_judged_by_the_rule(rhythmic):
    small = rhythmic[rhythmic["partner_id"] <= 10].assign(company_id=2)
    found = calibrate_judgement(pd.concat([rhythmic, small]), AS_OF)
    row = found.set_index("company_id").loc[2]
    assert row["kind"] == "cadence"
    assert row["not_judged"] == "too_few_customers"
    assert judgements_of(found)[2] == Judgement(label_factor=row["label_factor"])


def test_the_combined_model_scores_everybody_from_its_stored_coefficients(rhythmic):
    recent = frame([tx(5001, 3, 50.0)])
    rows = pd.concat([rhythmic, recent])
    models = fit_models(rows, AS_OF, label_factor=1.25)
    stored = json.loads(json.dumps(model_records(models)))[0]
    assert stored["model"] == "combined"
    assert stored["label_factor"] == 1.25
    assert stored["min_history_days"] == 0
    assert len(stored["rhythm_coef"]) == len(COMBINED_FEATURES) + 1
    whole = score(rows, AS_OF, models)
    # A customer first seen 3 days ago has a chance too.
    first = whole.set_index("partner_id").loc[5001]
    assert 0 <= first["return_probability"] <= 100
    assert whole["return_probability"].notna().all()
    half = rows["partner_id"] <= 200
    chunks = [score(rows[half], AS_OF, [stored]), score(rows[~half], AS_OF, [stored])]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)


def test_the_back_test_shows_both_modes_and_the_judgement_to_apply(rhythmic):
    result = backtest(rhythmic, AS_OF)
    rules = result.rules.set_index("rule")
    assert {"current", "calibrated", "judgement"} <= set(rules.index)
    assert rules.loc["judgement", "n"] == rules.loc["current", "n"]
    assert 0 <= rules.loc["judgement", "auc"] <= 1
    pd.testing.assert_frame_equal(
        result.judgement, calibrate_judgement(rhythmic, AS_OF)
    )
