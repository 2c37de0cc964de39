"""Back-test and calibration of the at-risk rule on the business's own past.

Go back H days (``horizon_days``) to the cutoff, look only at the data up to
it, flag customers, and compare with what really happened: a customer
*churned* when they had no visit in the H days after the cutoff. The flag of
the product is its status (:func:`compute_metrics`): at risk or lost.

Who is judged: the customers with a visit in the look-back window on the
cutoff day (``visit_count`` > 0), the customers the product follows. A
flagged customer who churned is a true positive (tp), a flagged one who came
back a false positive (fp), an unflagged one who churned a false negative
(fn), an unflagged one who came back a true negative (tn).
"""

# The engine has no env: `_` only marks templates for Odoo's translation
# export; the Odoo layer translates them.
# pylint: disable=prefer-env-translation

from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import rules
from .judgement import calibrate_judgement
from .metrics import _clean, compute_metrics
from .predict import (
    HORIZON_DAYS,
    MIN_CUSTOMERS,
    MIN_HISTORY_DAYS,
    MIN_OUTCOME,
    SAMPLE,
    PastDays,
    auc,
    predict,
    sample_mask,
)
from .settings import _, settings_by_company, without_group_thresholds

FIXED_DAYS = (60, 90, 180)
PROBABILITY_CUT = 50.0  # percent
RULES = (
    ("current", _("Current settings")),
    ("calibrated", _("Calibrated settings")),
    ("days_60", _("More than 60 days since the last visit")),
    ("days_90", _("More than 90 days since the last visit")),
    ("days_180", _("More than 180 days since the last visit")),
    ("probability_50", _("Chance of return below 50 %")),
    (
        "judgement",
        _("Calibrated judgement: chance of return below the calibrated threshold"),
    ),
)
RULE_COLUMNS = [
    "company_id",
    "rule",
    "cutoff",
    "tp",
    "fp",
    "fn",
    "tn",
    "n",
    "precision",
    "recall",
    "f1",
    "youden_j",
    "auc",
]
CALIBRATION_COLUMNS = [
    "company_id",
    "cutoff",
    "at_risk_factor",
    "min_at_risk_days",
    "dormant_days",
    "youden_j",
    "current_youden_j",
    "tp",
    "fp",
    "fn",
    "tn",
    "n",
    "not_calibrated",
]
GROUP_COLUMNS = [
    "company_id",
    "group_key",
    "n",
    "at_risk_factor",
    "min_at_risk_days",
    "dormant_days",
    "youden_j",
    "company_youden_j",
    "validated_youden_j",
    "validated_company_youden_j",
    "own",
]
# Customers of a peer group judged on each of the two last horizons before it
# may have thresholds of its own.
MIN_GROUP_CUSTOMERS = 500
# Why a company keeps its settings.
NOT_CALIBRATED = (
    ("too_few_customers", _("Too few customers followed on the day of the replay.")),
    ("one_outcome", _("Too few customers who came back, or too few who did not.")),
)
# The settings tried, all combinations with minimum <= dormant <= lost days;
# the company's current values are tried too.
GRID = {
    "at_risk_factor": (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0),
    "min_at_risk_days": (7, 14, 21, 30, 45, 60, 90),
    "dormant_days": (60, 90, 120, 150, 180, 240, 300, 365),
}
# Grid points compared at once: customers x points booleans in memory.
_POINTS_AT_ONCE = 64


class Backtest(NamedTuple):
    """What :func:`backtest` returns: ``rules`` (:data:`RULE_COLUMNS`, one
    row per company and rule), ``calibration`` (:data:`CALIBRATION_COLUMNS`,
    the settings calibrated on the latest horizon, to apply now), ``groups``
    (:data:`GROUP_COLUMNS`, the peer groups calibrated on their own),
    ``settings`` ({company_id: RetentionSettings} with them) and
    ``judgement`` (:data:`judgement.JUDGEMENT_COLUMNS`, the calibrated
    judgement of calibrated mode, to apply now: see
    :func:`judgement.judgements_of`)."""

    rules: pd.DataFrame
    calibration: pd.DataFrame
    groups: pd.DataFrame
    settings: dict
    judgement: pd.DataFrame = None


# --- Metrics ------------------------------------------------------------------


def confusion(flagged, churned):
    """Counts tp, fp, fn, tn and n of a flag against churn (booleans)."""
    flagged = np.asarray(flagged, dtype=bool)
    churned = np.asarray(churned, dtype=bool)
    tp = int(np.sum(flagged & churned))
    fp = int(np.sum(flagged & ~churned))
    fn = int(np.sum(~flagged & churned))
    tn = int(np.sum(~flagged & ~churned))
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "n": tp + fp + fn + tn}


def _share(part, whole):
    return part / whole if whole else float("nan")


def precision(tp, fp):
    """Share of the flagged customers who churned."""
    return _share(tp, tp + fp)


def recall(tp, fn):
    """Share of the leavers who were flagged."""
    return _share(tp, tp + fn)


def f1(tp, fp, fn):
    """Harmonic mean of precision and recall: 2 tp / (2 tp + fp + fn)."""
    return _share(2 * tp, 2 * tp + fp + fn)


def youden_j(tp, fp, fn, tn):
    """Youden's J: share of leavers caught minus share of stayers flagged."""
    return recall(tp, fn) - _share(fp, fp + tn)


def _scores(counts):
    tp, fp, fn, tn = counts["tp"], counts["fp"], counts["fn"], counts["tn"]
    return {
        "precision": precision(tp, fp),
        "recall": recall(tp, fn),
        "f1": f1(tp, fp, fn),
        "youden_j": youden_j(tp, fp, fn, tn),
    }


# --- Calibration -----------------------------------------------------------------


def calibrate(
    transactions,
    as_of,
    settings=None,
    horizon_days=HORIZON_DAYS,
    grid=None,
    sample=SAMPLE,
    seed=0,
    min_customers=MIN_CUSTOMERS,
):
    """The at-risk factor, minimum at-risk days and dormant days of each
    company that maximise Youden's J of its flag, replayed on its own past.

    Only transactions on or before ``as_of`` are read: the statuses are
    replayed as of cut = as_of - H and compared with the visits in
    (cut, as_of]. The other settings (look-back, new and lost days) stay.
    Each customer's days since the last visit, cadence and whether new are
    computed once (:func:`compute_metrics` with the current settings: the
    product's own rule), then every grid point is one comparison of whole
    columns. Ties keep the current settings, then the first point of the
    grid.

    :param grid: {setting: values} for the three settings (:data:`GRID`).
    :param sample: customers per company replayed (seeded, see
        :func:`sample_mask`); None: all.
    :return: frame with :data:`CALIBRATION_COLUMNS`, one row per company:
        the chosen values, their J and the counts behind it, the J of the
        current settings, and ``not_calibrated`` (:data:`NOT_CALIBRATED`)
        when the company keeps its settings.
    """
    as_of = pd.Timestamp(as_of).normalize()
    cutoff = as_of - pd.Timedelta(days=int(horizon_days))
    tx = _sample_transactions(_clean(transactions, as_of), sample, seed)
    companies = np.unique(tx["company_id"].to_numpy())
    current = settings_by_company(settings, companies)
    # Days since, cadence and new do not depend on the at-risk thresholds.
    replay = _replay(tx, cutoff, as_of, without_group_thresholds(current))
    points = {name: tuple(values) for name, values in (grid or GRID).items()}
    rows = []
    for company in companies:
        judged = replay[replay["company_id"].to_numpy() == company]
        found = _calibrate_company(judged, current[company], points, min_customers)
        rows.append({"company_id": int(company), "cutoff": cutoff.date(), **found})
    result = pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)
    # object, so that "calibrated" stays None rather than NaN.
    result["not_calibrated"] = pd.Series(
        [row["not_calibrated"] for row in rows], index=result.index, dtype=object
    )
    return result


def calibrated_settings(calibration, settings=None, groups=None):
    """{company_id: RetentionSettings} of the companies of ``calibration``:
    their settings with the calibrated values, and the thresholds of the
    peer groups of ``groups`` (:func:`calibrate_groups`) that have their own
    (none else)."""
    current = settings_by_company(settings, calibration["company_id"].unique())
    return {
        int(row.company_id): replace(
            current[row.company_id],
            at_risk_factor=float(row.at_risk_factor),
            min_at_risk_days=int(row.min_at_risk_days),
            dormant_days=int(row.dormant_days),
            group_thresholds=own_thresholds(groups, row.company_id),
        )
        for row in calibration.itertuples()
    }


def own_thresholds(groups, company_id):
    """The ``group_thresholds`` of ``company_id`` in ``groups``
    (:func:`calibrate_groups`): those of its groups that have their own."""
    if groups is None or groups.empty:
        return ()
    mine = groups[(groups["company_id"] == company_id) & groups["own"].astype(bool)]
    return tuple(
        (
            int(row.group_key),
            float(row.at_risk_factor),
            int(row.min_at_risk_days),
            int(row.dormant_days),
        )
        for row in mine.itertuples()
    )


def calibrate_groups(
    transactions,
    as_of,
    calibration,
    groups,
    settings=None,
    horizon_days=HORIZON_DAYS,
    grid=None,
    sample=SAMPLE,
    seed=0,
    min_customers=MIN_GROUP_CUSTOMERS,
):
    """The peer groups that get at-risk thresholds of their own, and which.

    A group with at least ``min_customers`` customers judged, and
    :data:`MIN_OUTCOME` who came back and who did not, on each of the last
    two horizons before ``as_of`` is tried: its own best grid point and the
    company's, both chosen on the horizon before the last (replayed as of
    as_of - 2H on the visits in (as_of - 2H, as_of - H]), are judged on the
    group's customers on the last one (as :func:`calibrate` replays it). The
    group has its own thresholds (``own``) only when its own choice did
    strictly better there than the company's: a group whose difference does
    not carry from one horizon to the next keeps the company's. Its own
    thresholds are then its best point on the last horizon. Only
    transactions on or before ``as_of`` are read.

    :param calibration: :func:`calibrate` as of ``as_of`` with the same
        arguments: the company's thresholds the groups are compared with.
    :param groups: frame ``company_id, partner_id, group_key`` (customers
        without a group are never calibrated on their own).
    :return: frame with :data:`GROUP_COLUMNS`, one row per group tried: its
        customers judged on the last horizon, the thresholds it would have,
        their J there, the J of the company's calibrated thresholds on the
        same customers, and the J of both choices made one horizon earlier
        (``validated_*``), which decide ``own``.
    """
    as_of = pd.Timestamp(as_of).normalize()
    horizon = pd.Timedelta(days=int(horizon_days))
    cutoff = as_of - horizon
    tx = _sample_transactions(_clean(transactions, as_of), sample, seed)
    rows = []
    if groups is None or tx.empty or calibration.empty:
        return pd.DataFrame(rows, columns=GROUP_COLUMNS)
    current = without_group_thresholds(
        settings_by_company(settings, np.unique(tx["company_id"].to_numpy()))
    )
    # The rows carry each customer's group_key.
    last = _replay(tx, cutoff, as_of, current, groups)
    before = _replay(tx, cutoff - horizon, cutoff, current, groups)
    points = {name: tuple(values) for name, values in (grid or GRID).items()}
    for chosen in calibration.itertuples():
        if chosen.not_calibrated:
            continue
        company = chosen.company_id
        settings_now = current[company]
        grid_points = _grid_points(points, settings_now)
        earlier = before[before["company_id"].to_numpy() == company]
        latest = last[last["company_id"].to_numpy() == company]
        company_now = _one_point(chosen)
        company_before = None
        for key, judged in latest.groupby("group_key", sort=True):
            then = earlier[earlier["group_key"].to_numpy() == key]
            if not (_enough(judged, min_customers) and _enough(then, min_customers)):
                continue
            if company_before is None:  # both outcomes are there: J is defined
                company_before = int(np.argmax(_grid_j(grid_points, earlier)))
            j_now = _grid_j(grid_points, judged)
            own_before = int(np.argmax(_grid_j(grid_points, then)))
            best = int(np.argmax(j_now))
            point = grid_points.iloc[best]
            rows.append(
                {
                    "company_id": int(company),
                    "group_key": int(key),
                    "n": len(judged),
                    "at_risk_factor": float(point["at_risk_factor"]),
                    "min_at_risk_days": int(point["min_at_risk_days"]),
                    "dormant_days": int(point["dormant_days"]),
                    "youden_j": float(j_now[best]),
                    "company_youden_j": float(_grid_j(company_now, judged)[0]),
                    "validated_youden_j": float(j_now[own_before]),
                    "validated_company_youden_j": float(j_now[company_before]),
                    "own": bool(j_now[own_before] > j_now[company_before]),
                }
            )
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def _enough(judged, min_customers):
    """Enough customers judged, and enough of each outcome, to calibrate on."""
    gone = int(judged["churned"].sum())
    return len(judged) >= min_customers and min(gone, len(judged) - gone) >= MIN_OUTCOME


def _one_point(row):
    """A grid of the one point of a calibration row."""
    return pd.DataFrame(
        {
            "at_risk_factor": [float(row.at_risk_factor)],
            "min_at_risk_days": [int(row.min_at_risk_days)],
            "dormant_days": [int(row.dormant_days)],
        }
    )


def _grid_j(points, judged):
    """Youden's J of the flag at each grid point on the ``judged`` rows."""
    churned = judged["churned"].to_numpy(dtype=bool)
    flagged, caught = _grid_counts(points, judged, churned)
    gone = int(churned.sum())
    stayed = len(churned) - gone
    return caught / gone - (flagged - caught) / stayed


def _sample_transactions(tx, sample, seed):
    """The rows of a seeded sample of customers (:func:`sample_mask`)."""
    if sample is None or tx.empty:
        return tx
    codes = tx.groupby(["company_id", "partner_id"], sort=True).ngroup().to_numpy()
    company = np.empty(codes.max() + 1, dtype="int64")
    company[codes] = tx["company_id"].to_numpy()
    return tx[sample_mask(company, sample, seed)[codes]]


def _replay(tx, cutoff, end, settings, groups=None):
    """Metrics rows as of ``cutoff`` of the customers with a visit in the
    look-back window, with ``churned``: no visit in (cutoff, end]."""
    keys = ["company_id", "partner_id"]
    rows = compute_metrics(tx, cutoff, settings, groups=groups)
    rows = rows[rows["visit_count"] > 0].reset_index(drop=True)
    after = tx["is_visit"] & (tx["date"] > cutoff) & (tx["date"] <= end)
    came = tx.loc[after, keys].drop_duplicates()
    came_back = pd.MultiIndex.from_frame(rows[keys]).isin(
        pd.MultiIndex.from_frame(came)
    )
    return rows.assign(churned=~came_back)


def _calibrate_company(judged, current, grid, min_customers):
    churned = judged["churned"].to_numpy(dtype=bool)
    counts = confusion(rules.flagged(judged["status"]), churned)
    found = {
        "at_risk_factor": current.at_risk_factor,
        "min_at_risk_days": current.min_at_risk_days,
        "dormant_days": current.dormant_days,
        "current_youden_j": youden_j(**_four(counts)),
        "not_calibrated": None,
    }
    gone = int(churned.sum())
    if len(churned) < min_customers:
        found["not_calibrated"] = "too_few_customers"
    elif min(gone, len(churned) - gone) < MIN_OUTCOME:
        found["not_calibrated"] = "one_outcome"
    if found["not_calibrated"]:
        return found | counts | {"youden_j": found["current_youden_j"]}
    points = _grid_points(grid, current)
    flagged, caught = _grid_counts(points, judged, churned)
    stayed = len(churned) - gone
    j = caught / gone - (flagged - caught) / stayed
    best = int(np.argmax(j))  # the first of equals: the current settings first
    chosen = points.iloc[best]
    found.update(
        at_risk_factor=float(chosen["at_risk_factor"]),
        min_at_risk_days=int(chosen["min_at_risk_days"]),
        dormant_days=int(chosen["dormant_days"]),
    )
    tp, fp = int(caught[best]), int(flagged[best] - caught[best])
    counts = {"tp": tp, "fp": fp, "fn": gone - tp, "tn": stayed - fp}
    return found | counts | {"n": len(churned), "youden_j": float(j[best])}


def _four(counts):
    return {key: counts[key] for key in ("tp", "fp", "fn", "tn")}


def _grid_points(grid, current):
    """The current settings, then every valid combination of the grid."""
    combos = pd.MultiIndex.from_product(
        [grid["at_risk_factor"], grid["min_at_risk_days"], grid["dormant_days"]],
        names=["at_risk_factor", "min_at_risk_days", "dormant_days"],
    ).to_frame(index=False)
    now = pd.DataFrame(
        [[current.at_risk_factor, current.min_at_risk_days, current.dormant_days]],
        columns=combos.columns,
    )
    points = pd.concat([now, combos], ignore_index=True)
    valid = (
        (points["at_risk_factor"] >= 1)
        & (points["min_at_risk_days"] <= points["dormant_days"])
        & (points["dormant_days"] <= current.lost_days)
    )
    points = points[valid | (points.index == 0)].drop_duplicates()
    return points.astype(
        {
            "at_risk_factor": "float64",
            "min_at_risk_days": "int64",
            "dormant_days": "int64",
        }
    ).reset_index(drop=True)


def _grid_counts(points, judged, churned):
    """Customers flagged and flagged leavers at each grid point. The flag is
    the product's: not new, and days since the last visit beyond the at-risk
    threshold, clip(factor x cadence, minimum, dormant), or dormant days
    without a cadence (lost is beyond it too, since dormant <= lost)."""
    since = judged["days_since_last"].to_numpy(dtype="float64")[:, None]
    cadence = judged["cadence_days"].to_numpy(dtype="float64")[:, None]
    has_cadence = ~np.isnan(cadence)
    can_flag = (judged["status"].to_numpy() != "new")[:, None]
    flagged = np.empty(len(points), dtype="int64")
    caught = np.empty(len(points), dtype="int64")
    for start in range(0, len(points), _POINTS_AT_ONCE):
        chunk = points.iloc[start : start + _POINTS_AT_ONCE]
        factor = chunk["at_risk_factor"].to_numpy()[None, :]
        minimum = chunk["min_at_risk_days"].to_numpy()[None, :]
        dormant = chunk["dormant_days"].to_numpy()[None, :]
        threshold = np.where(
            has_cadence,
            np.minimum(np.maximum(factor * cadence, minimum), dormant),
            dormant,
        )
        flag = can_flag & (since > threshold)
        flagged[start : start + len(chunk)] = np.count_nonzero(flag, axis=0)
        caught[start : start + len(chunk)] = np.count_nonzero(flag[churned], axis=0)
    return flagged, caught


# --- Back-test ------------------------------------------------------------------


def backtest(
    transactions,
    as_of,
    settings=None,
    horizon_days=HORIZON_DAYS,
    grid=None,
    sample=None,
    seed=0,
    min_customers=MIN_CUSTOMERS,
    min_history_days=MIN_HISTORY_DAYS,
    groups=None,
    min_group_customers=MIN_GROUP_CUSTOMERS,
):
    """Each rule's flags as of cut = as_of - H against the visits in
    (cut, as_of], per company. Only transactions on or before ``as_of`` are
    read, and each rule sees only the data up to cut:

    * ``current``: the current settings (status at risk or lost);
    * ``calibrated``: the settings :func:`calibrate` finds as of cut, i.e.
      replayed as of cut - H on the visits in (cut - H, cut], with the peer
      groups :func:`calibrate_groups` gives thresholds of their own as of
      cut (when ``groups``, the customers' peer groups, are given): out of
      sample;
    * ``days_60``, ``days_90``, ``days_180``: days since the last visit beyond;
    * ``probability_50``: :func:`predict` as of cut gives a chance of return
      below 50 % (a customer without a probability is not flagged);
    * ``judgement``: calibrated mode's verdict as of cut
      (:func:`judgement.calibrate_judgement` as of cut, chosen on the days
      before it, and the combined model learnt on them): at risk or lost
      when the chance is below the threshold; customers without a chance
      as the ``calibrated`` rule flags them.

    ``auc`` ranks the leavers by the score the rule cuts: days since the last
    visit over the at-risk threshold (0 for new customers) for the settings,
    days since the last visit, 100 - chance of return (customers without a
    chance left out). J and AUC decide between rules.

    :param sample: customers per company judged (seeded); None: all.
    :param groups: frame ``company_id, partner_id, group_key``; needed when
        ``settings`` have peer-group thresholds.
    :return: :class:`Backtest`; its ``calibration``, ``groups`` and
        ``settings`` are :func:`calibrate` and :func:`calibrate_groups` as of
        ``as_of`` (replay as of cut, visits in (cut, as_of]), the settings
        to apply now.
    """
    as_of = pd.Timestamp(as_of).normalize()
    horizon = int(horizon_days)
    cutoff = as_of - pd.Timedelta(days=horizon)
    tx = _sample_transactions(_clean(transactions, as_of), sample, seed)
    current = settings_by_company(settings, np.unique(tx["company_id"].to_numpy()))
    options = dict(horizon_days=horizon, seed=seed, min_customers=min_customers)
    group_options = dict(
        horizon_days=horizon, seed=seed, grid=grid, min_customers=min_group_customers
    )
    earlier = calibrate(tx, cutoff, current, grid=grid, **options)
    earlier_groups = calibrate_groups(
        tx, cutoff, earlier, groups, current, **group_options
    )
    then = current | calibrated_settings(earlier, current, earlier_groups)
    replay = _replay(tx, cutoff, as_of, current, groups)
    calibrated = _replay(tx, cutoff, as_of, then, groups)
    chance = predict(
        tx, cutoff, current, min_history_days=min_history_days, **options
    ).customers
    # Calibrated mode's verdict, as of cut and as of now, from one set of
    # past days (the sample is drawn above).
    past = PastDays.of(tx, as_of, current, horizon, None, seed)
    judgement_options = dict(
        horizon_days=horizon, sample=None, min_customers=min_customers, past=past
    )
    then_judgement = calibrate_judgement(tx, cutoff, current, **judgement_options)
    verdict = _verdict_at(past, cutoff, then_judgement)
    judged = _rule_scores(replay, calibrated, chance, verdict)
    rules = [
        {"company_id": int(company), "rule": rule, "cutoff": cutoff.date(), **figures}
        for company, group in judged.groupby("company_id", sort=True)
        for rule, figures in _rule_figures(group).items()
    ]
    now = calibrate(tx, as_of, current, grid=grid, **options)
    now_groups = calibrate_groups(tx, as_of, now, groups, current, **group_options)
    return Backtest(
        pd.DataFrame(rules, columns=RULE_COLUMNS),
        now,
        now_groups,
        current | calibrated_settings(now, current, now_groups),
        calibrate_judgement(tx, as_of, current, **judgement_options),
    )


def _verdict_at(past, day, judgements):
    """Frame ``company_id, partner_id, chance, threshold`` of the customers
    of the companies judged by their chance as of ``day``: the combined
    model learnt on the days before it, its chance (percent) and the
    company's threshold."""
    found = []
    for row in judgements.itertuples():
        if row.kind != "chance":
            continue
        model = past.train(row.company_id, day, row.label_factor)
        if model is None:
            continue
        codes, chance = past.chance(row.company_id, day, model)
        found.append(
            pd.DataFrame(
                {
                    "company_id": past.customers["company_id"].to_numpy()[codes],
                    "partner_id": past.customers["partner_id"].to_numpy()[codes],
                    "chance": 100.0 * chance,
                    "threshold": float(row.chance_threshold),
                }
            )
        )
    if not found:
        return pd.DataFrame(columns=["company_id", "partner_id", "chance", "threshold"])
    return pd.concat(found, ignore_index=True)


def _rule_scores(replay, calibrated, chance, verdict):
    """Per judged customer: churned, and each rule's flag and score."""
    keys = ["company_id", "partner_id"]
    judged = replay[[*keys, "churned"]].copy()
    since = replay["days_since_last"].to_numpy(dtype="float64")
    judged["flag_current"] = rules.flagged(replay["status"])
    judged["score_current"] = _overdue_score(replay)
    other = replay[keys].merge(calibrated, how="left", on=keys)
    judged["flag_calibrated"] = rules.flagged(other["status"])
    judged["score_calibrated"] = _overdue_score(other)
    for days in FIXED_DAYS:
        judged[f"flag_days_{days}"] = since > days
        judged[f"score_days_{days}"] = since
    probability = (
        replay[keys]
        .merge(chance[[*keys, "return_probability"]], how="left", on=keys)[
            "return_probability"
        ]
        .to_numpy(dtype="float64")
    )
    judged["flag_probability_50"] = probability < PROBABILITY_CUT
    judged["score_probability_50"] = 100.0 - probability
    mine = replay[keys].merge(verdict, how="left", on=keys)
    by_chance = mine["chance"].to_numpy(dtype="float64")
    threshold = mine["threshold"].to_numpy(dtype="float64")
    known = np.isfinite(by_chance)
    judged["flag_judgement"] = np.where(
        known, by_chance < threshold, judged["flag_calibrated"].to_numpy()
    )
    judged["score_judgement"] = 100.0 - by_chance
    return judged


def _overdue_score(rows):
    """Days since the last visit over the at-risk threshold; 0 when new (the
    flag is this score above 1, as dormant <= lost days)."""
    ratio = rows["days_since_last"].to_numpy(dtype="float64") / rows[
        "at_risk_threshold"
    ].to_numpy(dtype="float64")
    return np.where(rows["status"].to_numpy() == "new", 0.0, ratio)


def _rule_figures(group):
    churned = group["churned"].to_numpy(dtype=bool)
    figures = {}
    for rule, _label in RULES:
        counts = confusion(group[f"flag_{rule}"].to_numpy(dtype=bool), churned)
        figures[rule] = (
            counts
            | _scores(counts)
            | {"auc": auc(churned, group[f"score_{rule}"].to_numpy(dtype="float64"))}
        )
    return figures
