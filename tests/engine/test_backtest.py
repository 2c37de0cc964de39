"""Back-test and calibration: flags as of cut = AS_OF - 90 days against the
visits in (cut, AS_OF]; a customer who did not come back churned. Flagged
and churned: tp; flagged, came back: fp; not flagged, churned: fn; neither:
tn. Days below are counted back from the cut."""

import numpy as np
import pandas as pd
import pytest
from engine_scenario import AS_OF, tx
from retention_engine import TRANSACTION_COLUMNS, RetentionSettings, compute_metrics
from retention_engine.backtest import (
    RULE_COLUMNS,
    auc,
    backtest,
    calibrate,
    calibrate_groups,
    calibrated_settings,
    confusion,
    f1,
    precision,
    recall,
    youden_j,
)

CUT = AS_OF - pd.Timedelta(days=90)


def before_cut(days):
    return CUT - pd.Timedelta(days=days)


def customer(partner, since, cadence, churned, visits=3, company=1):
    """Visits every ``cadence`` days, the last ``since`` days before the cut;
    a customer who stays comes back 30 days before AS_OF."""
    rows = [
        tx(partner, before_cut(since + k * cadence), 50, company=company)
        for k in range(visits)
    ]
    if not churned:
        rows.append(tx(partner, AS_OF - pd.Timedelta(days=30), 50, company=company))
    return rows


def frame(rows):
    return pd.DataFrame(rows, columns=TRANSACTION_COLUMNS)


# --- The metrics ------------------------------------------------------------------


def test_the_metrics_of_a_confusion_table():
    # 3 leavers caught, 1 stayer flagged, 2 leavers missed, 4 stayers left alone:
    # precision 3 / 4, recall 3 / 5, F1 6 / (6 + 1 + 2) = 2/3,
    # J = 3 / 5 - 1 / 5 = 0.4.
    flagged = [True] * 4 + [False] * 6
    churned = [True, True, True, False, True, True, False, False, False, False]
    counts = confusion(flagged, churned)
    assert counts == {"tp": 3, "fp": 1, "fn": 2, "tn": 4, "n": 10}
    assert precision(3, 1) == 0.75
    assert recall(3, 2) == 0.6
    assert f1(3, 1, 2) == pytest.approx(2 / 3)
    assert youden_j(3, 1, 2, 4) == pytest.approx(0.4)
    # Nothing flagged: no precision.
    assert np.isnan(precision(0, 0))


def test_the_auc_counts_ties_as_half():
    # Positives 3, 2, 2 against negatives 1, 2: of the 6 pairs, 4 won and
    # 2 tied -> (4 + 2 x 0.5) / 6 = 5/6. A NaN score is left out.
    assert auc(
        [True, True, True, False, False, True], [3, 2, 2, 1, 2, np.nan]
    ) == pytest.approx(5 / 6)
    # One class only: no AUC.
    assert np.isnan(auc([True, True], [1, 2]))


# --- The back-test ----------------------------------------------------------------

# (partner, days since the last visit at the cut, cadence, churned)
# Cadence 40: at risk beyond max(1.5 x 40, 30) = 60 days; cadence 300: beyond
# min(450, 180) = 180 days; lost beyond 365. Nobody is new (first visits 92
# days or more before the cut).
TEN = [
    (1, 12, 40, False),
    (2, 30, 40, False),
    (3, 50, 40, True),
    (4, 70, 40, False),  # at risk (70 > 60), came back: fp
    (5, 70, 300, True),  # active (70 <= 180), churned: fn
    (6, 100, 300, False),
    (7, 120, 40, True),
    (8, 200, 300, True),  # at risk (200 > 180)
    (9, 400, 300, True),  # lost
    (10, 150, 300, False),
]


def ten_customers():
    rows = []
    for partner, since, cadence, churned in TEN:
        rows += customer(partner, since, cadence, churned, 3 if cadence == 40 else 2)
    return frame(rows)


def figures(rules, rule):
    return rules.set_index("rule").loc[rule]


@pytest.fixture(scope="module")
def ten():
    return backtest(ten_customers(), AS_OF)


def test_the_back_test_counts_each_rule_by_hand(ten):
    result = ten
    rules = result.rules
    assert list(rules.columns) == RULE_COLUMNS
    assert list(rules["rule"]) == [
        "current",
        "calibrated",
        "days_60",
        "days_90",
        "days_180",
        "probability_50",
        "judgement",
    ]
    counts = rules.set_index("rule")[["tp", "fp", "fn", "tn", "n"]]
    # Churned: 3, 5, 7, 8, 9. Stayed: 1, 2, 4, 6, 10.
    # current: flags 4, 7, 8, 9 -> tp 7, 8, 9; fp 4; fn 3, 5; tn 1, 2, 6, 10.
    # The calibration as of the cut has 10 customers (< 50): current settings.
    # days_60 (> 60): flags 4 to 10 -> tp 5, 7, 8, 9; fp 4, 6, 10; fn 3; tn 1, 2.
    # days_90: flags 6, 7, 8, 9, 10 -> tp 7, 8, 9; fp 6, 10; fn 3, 5; tn 1, 2, 4.
    # days_180: flags 8, 9 -> tp 2; fn 3.
    # probability_50: 10 customers are too few for a model: no flag.
    # judgement: too few customers to judge by a chance: the calibrated
    # rule's flags (the current settings, see above).
    assert counts.to_dict("index") == {
        "current": {"tp": 3, "fp": 1, "fn": 2, "tn": 4, "n": 10},
        "calibrated": {"tp": 3, "fp": 1, "fn": 2, "tn": 4, "n": 10},
        "days_60": {"tp": 4, "fp": 3, "fn": 1, "tn": 2, "n": 10},
        "days_90": {"tp": 3, "fp": 2, "fn": 2, "tn": 3, "n": 10},
        "days_180": {"tp": 2, "fp": 0, "fn": 3, "tn": 5, "n": 10},
        "probability_50": {"tp": 0, "fp": 0, "fn": 5, "tn": 5, "n": 10},
        "judgement": {"tp": 3, "fp": 1, "fn": 2, "tn": 4, "n": 10},
    }
    current = figures(rules, "current")
    # precision 3/4, recall 3/5, F1 6 / 9, J 3/5 - 1/5 = 0.4.
    assert current[["precision", "recall", "f1", "youden_j"]].tolist() == (
        pytest.approx([0.75, 0.6, 2 / 3, 0.4])
    )
    days_60 = figures(rules, "days_60")
    # precision 4/7, recall 4/5, F1 8 / 12, J 4/5 - 3/5 = 0.2.
    assert days_60[["precision", "recall", "f1", "youden_j"]].tolist() == (
        pytest.approx([4 / 7, 0.8, 2 / 3, 0.2])
    )
    # AUC of the days since the last visit: leavers 50, 70, 120, 200, 400
    # against stayers 12, 30, 70, 100, 150: 50 beats 2, 70 beats 2 and ties
    # 1 (2.5), 120 beats 4, 200 and 400 beat 5 -> 18.5 / 25 = 0.74.
    assert days_60["auc"] == pytest.approx(0.74)
    # AUC of days since / threshold: leavers 50/60, 70/180, 120/60, 200/180,
    # 400/180 against 12/60, 30/60, 70/60, 100/180, 150/180: 50/60 beats 3
    # and ties 150/180 (3.5), 70/180 beats 1, 2 beats 5, 200/180 beats 4,
    # 400/180 beats 5 -> 18.5 / 25 = 0.74.
    assert current["auc"] == pytest.approx(0.74)
    probability = figures(rules, "probability_50")
    assert np.isnan(probability["precision"]) and np.isnan(probability["auc"])
    assert probability["youden_j"] == 0
    # The settings to apply now: as they were (too few customers).
    assert result.calibration.loc[0, "not_calibrated"] == "too_few_customers"
    assert result.settings[1] == RetentionSettings()
    # Nor a judgement by the chance: the cadence rule.
    judgement = result.judgement.iloc[0]
    assert judgement["kind"] == "cadence"
    assert judgement["not_judged"] == "too_few_customers"


def test_the_back_test_ignores_what_comes_after_as_of(ten):
    later = frame([tx(partner, AS_OF + pd.Timedelta(days=3), 10) for partner in (3, 5)])
    after = backtest(pd.concat([ten_customers(), later]), AS_OF)
    pd.testing.assert_frame_equal(ten.rules, after.rules)


# --- Calibration --------------------------------------------------------------

# Cadence 10 with a first visit 200 days before the last one; (days since the
# last visit at the cut, churned), 10 customers of each kind.
KINDS = [(12, False), (16, False), (18, False), (25, True), (28, False), (35, True)]
GRID = {
    "at_risk_factor": (1.5, 2.0, 3.0),
    "min_at_risk_days": (7,),
    "dormant_days": (180,),
}


def sixty_customers():
    rows = []
    for kind, (since, churned) in enumerate(KINDS):
        for copy in range(10):
            partner = 100 * kind + copy
            rows += customer(partner, since, 10, churned)
            rows.append(tx(partner, before_cut(since + 200), 50))
    # Company 2: five customers, too few to calibrate.
    for partner in range(5):
        rows += customer(partner, 20, 10, partner % 2 == 0, company=2)
    return frame(rows)


def test_calibration_picks_the_settings_with_the_best_j():
    # Thresholds (the cadence is 10), 20 leavers and 40 stayers:
    # current, 1.5 x 10 raised to 30: flags 35 -> tp 10, fp 0 -> J = 0.5;
    # 1.5, min 7: 15 -> flags 16, 18, 25, 28, 35 -> tp 20, fp 30 -> J = 0.25;
    # 2.0, min 7: 20 -> flags 25, 28, 35 -> tp 20, fp 10 -> J = 1 - 1/4 = 0.75;
    # 3.0, min 7: 30 -> as the current settings, J = 0.5.
    found = calibrate(sixty_customers(), AS_OF, grid=GRID).set_index("company_id")
    one = found.loc[1]
    assert (one.at_risk_factor, one.min_at_risk_days, one.dormant_days) == (2.0, 7, 180)
    assert one.youden_j == pytest.approx(0.75)
    assert one.current_youden_j == pytest.approx(0.5)
    assert (one.tp, one.fp, one.fn, one.tn, one.n) == (20, 10, 0, 30, 60)
    assert one.not_calibrated is None
    assert one.cutoff == CUT.date()
    two = found.loc[2]
    assert two.not_calibrated == "too_few_customers"
    assert (two.at_risk_factor, two.min_at_risk_days, two.dormant_days) == (
        1.5,
        30,
        180,
    )


def test_the_calibrated_flags_are_the_products_own():
    # The product's statuses with the chosen settings flag the 30 customers
    # counted above (tp 20 + fp 10), and 20 of them churned.
    rows = sixty_customers()
    chosen = calibrated_settings(calibrate(rows, AS_OF, grid=GRID))
    assert chosen[1] == RetentionSettings(at_risk_factor=2.0, min_at_risk_days=7)
    status = compute_metrics(rows[rows["company_id"] == 1], CUT, chosen)
    flagged = status[status["status"].isin(["at_risk", "lost"])]
    assert len(flagged) == 30
    churned = flagged["partner_id"] // 100
    assert (churned.isin([3, 5])).sum() == 20


def test_calibration_ignores_transactions_after_as_of():
    rows = sixty_customers()
    # The leavers come back, and new customers arrive, after AS_OF.
    later = frame(
        [tx(partner, AS_OF + pd.Timedelta(days=5), 50) for partner in range(300, 310)]
        + [
            tx(9000 + partner, AS_OF + pd.Timedelta(days=1), 50)
            for partner in range(60)
        ]
    )
    before = calibrate(rows, AS_OF, grid=GRID)
    after = calibrate(pd.concat([rows, later]), AS_OF, grid=GRID)
    pd.testing.assert_frame_equal(before, after)


def test_the_calibrated_rule_is_judged_out_of_sample():
    # The back-test judges, as of the cut, the settings calibrated as of the
    # cut (on the visits before it), not the ones fitted on the visits it
    # judges: here the replay as of cut - 90 has too few customers, so the
    # calibrated rule is the current one, while the calibration to apply now
    # (on the visits after the cut) finds factor 2.
    result = backtest(sixty_customers(), AS_OF, grid=GRID)
    rules = result.rules[result.rules["company_id"] == 1].set_index("rule")
    assert rules.loc["calibrated", "youden_j"] == pytest.approx(0.5)
    assert rules.loc["current", "youden_j"] == pytest.approx(0.5)
    assert result.settings[1].at_risk_factor == 2.0


# --- Peer groups with thresholds of their own -------------------------------------

# Two horizons replayed as of AS_OF: the last one flags as of R2 = AS_OF - 90
# (visits after it up to AS_OF decide), the one before as of R1 = AS_OF - 180.
# Everybody has a 20-day rhythm (the median gap), first visit 600 days ago.
# Group 1: regulars who stay (since < 20 at R1 and R2); leavers who stop 60
# days before R1 (since 60 at R1, 150 at R2) and leavers who stop 60 days
# before R2 (since 10 at R1, coming back: stayers then; since 60 at R2).
# Group 2: leavers who stop 120 days before R1 (since 120 at R1, 210 at R2);
# stayers with a 70-day gap around each replay day (since 60 at R1 and R2,
# back 10 days after it). So group 1's leavers are caught at 30 or 40 days
# without a stayer flagged, and group 2's are told from its stayers only
# beyond 100 days.
R1, R2 = 180, 90
GROUP_GRID = {
    "at_risk_factor": (1.0,),
    "min_at_risk_days": (40, 100),
    "dormant_days": (365,),
}


def rhythm(partner, last, first=600, skip=()):
    """Visits every 20 days from ``first`` days before AS_OF to ``last``;
    ``skip``: (from, to) day ranges (days before AS_OF) left out."""
    days = range(last, first + 1, 20)
    days = [d for d in days if not any(b < d < a for a, b in skip)]
    return [tx(partner, day, 50) for day in days]


def gappy(partner):
    """Every 20 days, but gone 60 days before each replay day, back 10 days
    after it."""
    gaps = ((R1 + 60, R1 - 10), (R2 + 60, R2 - 10))
    rows = rhythm(partner, 5, skip=gaps)
    return rows + [tx(partner, day, 50) for gap in gaps for day in gap]


def group_scenario():
    rows, keys = [], []
    partner = 0

    def add(group, count, make):
        nonlocal partner
        for _ in range(count):
            partner += 1
            rows.extend(make(partner))
            keys.append((1, partner, group))

    add(1, 40, lambda p: rhythm(p, 5))  # regulars
    add(1, 20, lambda p: rhythm(p, R1 + 60))  # leave before R1
    add(1, 20, lambda p: rhythm(p, R2 + 60))  # leave before R2
    add(2, 10, lambda p: rhythm(p, R1 + 120))  # leave long before R1
    add(2, 20, gappy)
    groups = pd.DataFrame(keys, columns=["company_id", "partner_id", "group_key"])
    return frame(rows), groups


def test_a_peer_group_gets_its_own_thresholds_only_where_they_carry_over():
    transactions, groups = group_scenario()
    calibration = calibrate(transactions, AS_OF, grid=GROUP_GRID)
    # The company as of R2: 50 leavers (group 1: 20 since 150, 20 since 60;
    # group 2: 10 since 210), 60 stayers (40 regulars; 20 gappy, since 60).
    # Beyond 30 (the defaults, 1.5 x 20) or 40 days: every leaver and the
    # gappy stayers, J = 1 - 20/60 = 2/3. Beyond 100: 30 leavers, no stayer,
    # J = 30/50 = 0.6. The defaults come first.
    row = calibration.iloc[0]
    assert (row.at_risk_factor, row.min_at_risk_days, row.dormant_days) == (
        1.5,
        30,
        180,
    )
    assert row.youden_j == pytest.approx(2 / 3)

    found = calibrate_groups(
        transactions, AS_OF, calibration, groups, grid=GROUP_GRID, min_customers=30
    ).set_index("group_key")
    # Group 2, as of R1 and as of R2: beyond 100 days catches its 10 leavers
    # and none of its 20 stayers (J 1); the company's 30 days flags all 30
    # (J 0). Chosen as of R1, 100 days does better as of R2: its own.
    two = found.loc[2]
    assert bool(two.own)
    assert (two.at_risk_factor, two.min_at_risk_days, two.dormant_days) == (
        1.0,
        100,
        365,
    )
    assert two.n == 30
    assert (two.youden_j, two.company_youden_j) == (1.0, 0.0)
    assert (two.validated_youden_j, two.validated_company_youden_j) == (1.0, 0.0)
    # Group 1: the company's 30 days is already its best (J 1 both times):
    # nothing better carries over, it keeps the company's.
    one = found.loc[1]
    assert not bool(one.own)
    assert one.n == 80
    assert (one.youden_j, one.company_youden_j) == (1.0, 1.0)

    settings = calibrated_settings(calibration, None, found.reset_index())[1]
    assert settings.group_thresholds == ((2, 1.0, 100, 365),)
    # The statuses as of R2 with them: group 2's stayers active, its leavers
    # at risk; group 1 as before (the leavers since 60 at risk).
    as_of = AS_OF - pd.Timedelta(days=R2)
    statuses = compute_metrics(transactions, as_of, settings, groups=groups)
    status = dict(zip(statuses["partner_id"], statuses["status"], strict=True))
    assert {status[p] for p in range(81, 91)} == {"at_risk"}  # since 210 > 100
    assert {status[p] for p in range(91, 111)} == {"active"}  # since 60 <= 100
    assert {status[p] for p in range(61, 81)} == {"at_risk"}  # since 60 > 30
    assert {status[p] for p in range(1, 41)} == {"active"}
    # Without the groups the engine refuses rather than ignore them.
    with pytest.raises(ValueError, match="peer groups"):
        compute_metrics(transactions, as_of, settings)


def test_a_small_peer_group_keeps_the_companys_thresholds():
    transactions, groups = group_scenario()
    calibration = calibrate(transactions, AS_OF, grid=GROUP_GRID)
    # Group 2 has 30 customers judged: below 31, it is not tried.
    found = calibrate_groups(
        transactions, AS_OF, calibration, groups, grid=GROUP_GRID, min_customers=31
    )
    assert found["group_key"].tolist() == [1]
    assert calibrated_settings(calibration, None, found)[1].group_thresholds == ()


def test_peer_group_calibration_ignores_transactions_after_as_of():
    transactions, groups = group_scenario()
    later = frame([tx(p, AS_OF + pd.Timedelta(days=5), 50) for p in range(1, 111)])
    options = dict(grid=GROUP_GRID, min_customers=30)
    before = calibrate_groups(
        transactions,
        AS_OF,
        calibrate(transactions, AS_OF, grid=GROUP_GRID),
        groups,
        **options,
    )
    both = pd.concat([transactions, later], ignore_index=True)
    after = calibrate_groups(
        both, AS_OF, calibrate(both, AS_OF, grid=GROUP_GRID), groups, **options
    )
    pd.testing.assert_frame_equal(before, after)


def test_the_back_test_returns_the_peer_groups_calibrated_now():
    transactions, groups = group_scenario()
    result = backtest(
        transactions,
        AS_OF,
        grid=GROUP_GRID,
        groups=groups,
        min_group_customers=30,
    )
    assert result.groups.set_index("group_key")["own"].to_dict() == {
        1: False,
        2: True,
    }
    assert result.settings[1].group_thresholds == ((2, 1.0, 100, 365),)
