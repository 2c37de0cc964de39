"""The accuracy harness: ``python3 -m tests.accuracy [--dataset NAME ...]``.

Does the addon tell a business which customers it is losing better than a
rule of thumb? Measured out of sample on public real histories and on one
generated history whose truth is known, with the pure engine only (no Odoo).

The set-up of every figure: the history up to ``as_of``; a customer is
*judged* when they bought at least once up to ``as_of``; they *left* when
they have no purchase in the ``HORIZON_DAYS`` (91) days after it (for the
generated history: when the generator made them stop for good on or before
``as_of``). Every method sees only the purchases up to ``as_of`` and gives
each judged customer a score (higher: more likely gone) and a flag:

* J (Youden's) = share of the leavers flagged - share of the stayers flagged;
* AUC = chance that a random leaver scores above a random stayer (ties half);
* precision = share of the flagged who left; recall = share of the leavers
  flagged.

A method without a flag of its own gets an *honest* one: it is run as of
cut = as_of - 91 on the purchases up to cut, the threshold on its score with
the best J against the purchases in (cut, as_of] is kept, and applied to its
score as of as_of. "Fixed days" is that for the days since the last visit,
over D = 1..730.

Methods (:data:`METHODS`; each a function ``(history, as_of, horizon,
customers) -> Judgement``, so that another one is one function and one line
of the registry):

* the addon's flag with default settings (the seed rule, a baseline too),
  calibrated mode's verdict (:func:`calibrated_run`: the monthly
  :func:`backtest`, horizon 91, its judgement, the night's
  :func:`fit_models` and :func:`score`, then :func:`judge`), and its chance
  of return in calibrated mode and in fixed mode (:func:`fit_models` then
  :func:`score`, as the nightly run calls them);
* baselines: fixed days since the last visit, BG/NBD expected purchases (the
  engine's maximum-likelihood BG/NBD, which reproduces the paper's CDNOW
  parameters), and a logistic model of recency, usual interval, visits,
  tenure and ticket trained on the previous horizon.

Each difference addon - best baseline gets a paired bootstrap 95 % interval
(customers resampled, :data:`BOOTSTRAP_DRAWS` draws, fixed seed). The run
prints Markdown tables and writes ``benchmark/results/accuracy.json``.

Data: ``tests/accuracy_data/`` (see its README): CDNOW and UCI Online Retail
as committed CSVs, and the regular service customers of
``tests.harness.datagen.generate_services`` made at run time.
"""

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .harness import engine as engine_loader

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "tests" / "accuracy_data"
RESULTS = REPO_ROOT / "benchmark" / "results" / "accuracy.json"
HORIZON_DAYS = 91
BOOTSTRAP_DRAWS = 1000
SEED = 0
FIXED_DAYS = np.arange(1, 731)
COMPANY = 1
# The generated history: fixed seed and day, so every run sees the same.
SERVICES_SEED = 7
SERVICES_TODAY = pd.Timestamp("2026-06-30")
# The files the figures depend on.
MEASURED = (
    "customer_retention/engine",
    "tests/accuracy.py",
    "tests/accuracy_data",
    "tests/harness/datagen.py",
)


def engine():
    """The pure engine as ``retention_engine`` (tests/harness/engine.py), as
    the engine tests load it: not through the addon's ``__init__``, which
    needs Odoo."""
    return engine_loader.load()


def engine_module(name):
    """An engine module by name ("backtest", "predict"): the package's
    attributes of the same names are its functions."""
    engine()
    return sys.modules[f"retention_engine.{name}"]


# --- Data -------------------------------------------------------------------


@dataclass
class Dataset:
    """A history and the day it is judged on.

    ``days``: customer, day, amount (one row per customer and day with a
    purchase, the whole history, after ``as_of`` too). ``truth``: when the
    history is generated, whether each customer had stopped for good by
    ``as_of`` (index: customer); None: who left is read from the purchases
    in the horizon after ``as_of``."""

    name: str
    title: str
    days: pd.DataFrame
    as_of: pd.Timestamp
    horizon: int = HORIZON_DAYS
    truth: pd.Series | None = None
    label: str = "no purchase in the 91 days after as_of"
    source: str = ""
    stopped_on: pd.Series | None = None


def load_days(path):
    """A ``customer,day,amount`` CSV as a frame (day as a timestamp)."""
    days = pd.read_csv(path, dtype={"customer": "int64", "amount": "float64"})
    days["day"] = pd.to_datetime(days["day"])
    return days


def cdnow():
    return Dataset(
        name="cdnow",
        title="CDNOW (music retail, 1997-98, sample)",
        days=load_days(DATA / "cdnow.csv"),
        as_of=pd.Timestamp("1998-03-31"),
        source="tests/accuracy_data/cdnow.csv",
    )


def online_retail():
    return Dataset(
        name="online_retail",
        title="UCI Online Retail (UK gift wholesaler, 2010-11)",
        days=load_days(DATA / "online_retail.csv"),
        as_of=pd.Timestamp("2011-09-09"),
        source="tests/accuracy_data/online_retail.csv",
    )


def _services_history():
    from .harness import datagen

    history = datagen.generate_services(seed=SERVICES_SEED, today=SERVICES_TODAY)
    orders = history.orders
    days = (
        pd.DataFrame(
            {
                "customer": orders["customer"].astype("int64"),
                "day": orders["date"].dt.normalize(),
                "amount": orders["amount"],
            }
        )
        .groupby(["customer", "day"], as_index=False)["amount"]
        .sum()
    )
    return history, days


def services():
    """Regular service customers, judged against the generator's truth:
    left when they stopped for good on or before as_of."""
    history, days = _services_history()
    as_of = SERVICES_TODAY - pd.Timedelta(days=HORIZON_DAYS)
    stopped = history.customers.set_index("key")["stopped_on"]
    return Dataset(
        name="services",
        title="Regular services (generated, truth known)",
        days=days,
        as_of=as_of,
        truth=stopped.notna() & (stopped <= as_of),
        label="stopped for good on or before as_of (the generator's truth)",
        stopped_on=stopped,
        source=(
            "tests.harness.datagen.generate_services("
            f"seed={SERVICES_SEED}, today={SERVICES_TODAY.date()})"
        ),
    )


def services_91d():
    """The same history judged as the real ones: no purchase in 91 days."""
    _history, days = _services_history()
    return Dataset(
        name="services_91d",
        title="Regular services, judged on no purchase in 91 days",
        days=days,
        as_of=SERVICES_TODAY - pd.Timedelta(days=HORIZON_DAYS),
        source=(
            "tests.harness.datagen.generate_services("
            f"seed={SERVICES_SEED}, today={SERVICES_TODAY.date()})"
        ),
    )


DATASETS = {
    "cdnow": cdnow,
    "online_retail": online_retail,
    "services": services,
    "services_91d": services_91d,
}


def upto(days, day):
    """The rows on or before ``day``."""
    return days[days["day"] <= day]


def judged_customers(days, as_of):
    """The customers with a purchase on or before ``as_of``, sorted."""
    return np.unique(upto(days, as_of)["customer"].to_numpy())


def left_after(days, customers, start, horizon):
    """Whether each of ``customers`` has no purchase in (start, start + h]."""
    end = start + pd.Timedelta(days=int(horizon))
    inside = days[(days["day"] > start) & (days["day"] <= end)]
    return ~np.isin(customers, inside["customer"].to_numpy())


def outcome(dataset, customers):
    """Whether each judged customer left, as the dataset judges it."""
    if dataset.truth is not None:
        return dataset.truth.reindex(customers).fillna(False).to_numpy(dtype=bool)
    return left_after(dataset.days, customers, dataset.as_of, dataset.horizon)


def transactions(days):
    """The engine's transactions (:data:`TRANSACTION_COLUMNS`) of the rows."""
    return pd.DataFrame(
        {
            "company_id": COMPANY,
            "partner_id": days["customer"].to_numpy(),
            "date": days["day"].to_numpy(),
            "amount": days["amount"].to_numpy(),
            "is_visit": True,
            "category_id": 0,
        }
    )


# --- Metrics ----------------------------------------------------------------


def confusion(flag, left):
    """tp, fp, fn, tn of a flag against who left."""
    flag = np.asarray(flag, dtype=bool)
    left = np.asarray(left, dtype=bool)
    return (
        int(np.sum(flag & left)),
        int(np.sum(flag & ~left)),
        int(np.sum(~flag & left)),
        int(np.sum(~flag & ~left)),
    )


def _ratio(part, whole):
    return part / whole if whole else float("nan")


def youden_j(flag, left):
    """Share of the leavers flagged minus share of the stayers flagged."""
    tp, fp, fn, tn = confusion(flag, left)
    return _ratio(tp, tp + fn) - _ratio(fp, fp + tn)


def precision(flag, left):
    tp, fp, _fn, _tn = confusion(flag, left)
    return _ratio(tp, tp + fp)


def recall(flag, left):
    tp, _fp, fn, _tn = confusion(flag, left)
    return _ratio(tp, tp + fn)


def auc(left, score):
    """Chance that a leaver scores above a stayer, ties counting one half
    (Mann-Whitney); NaN without both outcomes. Scores must be finite."""
    return float(_auc_rows(np.asarray(left, bool)[None], np.asarray(score)[None])[0])


def _auc_rows(left, score):
    """AUC of each row of ``score`` (2-D) against the same row of ``left``."""
    score = np.asarray(score, dtype="float64")
    if not np.all(np.isfinite(score)):
        raise ValueError("AUC of a score with missing values")
    ranks = rankdata(score, axis=1)
    n_pos = left.sum(axis=1)
    n_neg = left.shape[1] - n_pos
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (np.sum(ranks * left, axis=1) - n_pos * (n_pos + 1) / 2) / (
            n_pos * n_neg
        )
    return np.where((n_pos > 0) & (n_neg > 0), value, np.nan)


def _j_rows(flag, left):
    """Youden's J of each row of ``flag`` (2-D) against ``left``."""
    gone = left.sum(axis=1)
    stayed = left.shape[1] - gone
    caught = np.sum(flag & left, axis=1)
    false = np.sum(flag & ~left, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return caught / gone - false / stayed


def best_threshold(score, left, candidates=None):
    """The threshold t with the best J of the flag ``score > t`` against
    ``left``, and that J: over ``candidates`` (default: the scores' own
    values, and one below them all), the smallest t of the best on a tie.
    Scores must be finite."""
    score = np.asarray(score, dtype="float64")
    left = np.asarray(left, dtype=bool)
    if candidates is None:
        values = np.unique(score)
        candidates = np.r_[values[0] - 1.0, values] if len(values) else values
    candidates = np.sort(np.asarray(candidates, dtype="float64"))
    gone, stayed = np.sort(score[left]), np.sort(score[~left])
    # Flagged: strictly above t.
    caught = len(gone) - np.searchsorted(gone, candidates, side="right")
    false = len(stayed) - np.searchsorted(stayed, candidates, side="right")
    j = caught / max(len(gone), 1) - false / max(len(stayed), 1)
    best = int(np.argmax(j))
    return float(candidates[best]), float(j[best])


def paired_bootstrap(left, first, second, metric, draws=BOOTSTRAP_DRAWS, seed=SEED):
    """The difference ``metric``(first) - ``metric``(second) on the
    customers, and its 95 % interval (percentiles) over ``draws``
    resamplings of the customers with replacement, the same customers for
    both (paired). ``metric``: "j" (``first`` and ``second`` are flags) or
    "auc" (scores). Returns (difference, low, high)."""
    left = np.asarray(left, dtype=bool)
    if metric == "j":
        first = np.asarray(first, dtype=bool)
        second = np.asarray(second, dtype=bool)

        def value(rows, who):
            return _j_rows(rows, who)
    else:
        first = np.asarray(first, dtype="float64")
        second = np.asarray(second, dtype="float64")

        def value(rows, who):
            return _auc_rows(who, rows)

    point = float(
        value(first[None], left[None])[0] - value(second[None], left[None])[0]
    )
    rng = np.random.default_rng(seed)
    n = len(left)
    differences = np.empty(draws)
    # In blocks of about two million cells: draws x customers at once is large.
    block = max(1, 2_000_000 // max(n, 1))
    for start in range(0, draws, block):
        idx = rng.integers(0, n, size=(min(block, draws - start), n))
        who = left[idx]
        differences[start : start + len(idx)] = value(first[idx], who) - value(
            second[idx], who
        )
    low, high = np.nanpercentile(differences, [2.5, 97.5])
    return point, float(low), float(high)


# --- Methods ----------------------------------------------------------------


class Judgement(NamedTuple):
    """What a method says of each judged customer (in the order given):
    ``score`` (finite, higher: more likely gone), ``flag`` (booleans, or
    None to get the honest flag of :func:`honest_flag`) and ``details``
    (dict, reported as is)."""

    score: np.ndarray
    flag: np.ndarray | None = None
    details: dict | None = None


@dataclass
class Method:
    """A method of the comparison. ``kind``: "addon" or "baseline" (the seed
    rule is both: ``baseline`` True); ``thresholds``: the candidate
    thresholds of the honest flag (None: the score's own values)."""

    label: str
    kind: str
    run: object
    baseline: bool = False
    thresholds: np.ndarray | None = None


def _by_customer(rows, customers, column):
    """``column`` of the engine's rows (partner_id) in ``customers`` order."""
    return (
        rows.set_index("partner_id")[column]
        .reindex(customers)
        .to_numpy(dtype="float64")
    )


def _status_judgement(metrics, customers, details):
    """The addon's flag (at risk or lost) and the score the back-test ranks
    it by (days since over the at-risk threshold, 0 when new)."""
    backtest = engine_module("backtest")
    rows = metrics.set_index("partner_id").reindex(customers)
    flag = engine_module("rules").flagged(rows["status"])
    score = backtest._overdue_score(rows)
    new = rows["status"].to_numpy() == "new"
    details = details | {
        "new_customers": int(new.sum()),
        "statuses": {
            str(key): int(value) for key, value in rows["status"].value_counts().items()
        },
    }
    return Judgement(np.asarray(score, dtype="float64"), flag, details)


def addon_default(history, as_of, horizon, customers):
    """The addon's status with ``RetentionSettings()``: the seed rule."""
    eng = engine()
    settings = eng.RetentionSettings()
    metrics = eng.compute_metrics(transactions(history), as_of, settings)
    return _status_judgement(metrics, customers, {})


def calibrated_run(history, as_of, horizon):
    """What calibrated mode does with the history up to ``as_of``, as the
    Odoo layer calls the engine: the monthly back-test (``backtest``, horizon
    H: the cadence thresholds and the judgement), the night's models
    (``fit_models`` with the judgement's label factor), their chances
    (``score``), the metrics with the calibrated thresholds and the verdict
    (``judge``). Kept for the run's methods (one back-test per history)."""
    key = (int(pd.util.hash_pandas_object(history).sum()), as_of, horizon)
    if key in _CALIBRATED:
        return _CALIBRATED[key]
    eng = engine()
    tx = transactions(history)
    found = eng.backtest(tx, as_of, eng.RetentionSettings(), horizon_days=horizon)
    settings = found.settings[COMPANY]
    judgement = eng.judgements_of(found.judgement).get(COMPANY, eng.Judgement())
    models = eng.fit_models(
        tx, as_of, settings, horizon_days=horizon, label_factor=judgement.label_factor
    )
    scored = eng.score(tx, as_of, models, settings)
    metrics = eng.compute_metrics(tx, as_of, settings)
    verdict = eng.judge(metrics, scored, judgement, as_of, settings)
    result = dict(
        backtest=found,
        settings=settings,
        judgement=judgement,
        models=models,
        verdict=verdict,
    )
    _CALIBRATED.clear()
    _CALIBRATED[key] = result
    return result


_CALIBRATED = {}


def addon_calibrated(history, as_of, horizon, customers):
    """The addon's verdict in calibrated mode (:func:`calibrated_run`): at
    risk or lost, as ``judge`` decides with the judgement the monthly
    back-test calibrates as of ``as_of`` (the chance of return below the
    threshold chosen on the business's own past; the cadence rule with the
    calibrated thresholds for a customer without a chance). Score: 100 - the
    chance (50 without one). Its own figures as of as_of - H are in the
    details."""
    run = calibrated_run(history, as_of, horizon)
    settings, judgement = run["settings"], run["judgement"]
    rows = run["verdict"].set_index("partner_id").reindex(customers)
    chance = rows["return_probability"].to_numpy(dtype="float64")
    flag = engine_module("rules").flagged(rows["status"])
    found = run["backtest"]
    chosen = found.calibration.iloc[0]
    judged = found.judgement.iloc[0]
    rules = found.rules.set_index("rule")
    details = {
        "kind": judgement.kind,
        "chance_threshold": judgement.chance_threshold,
        "label_factor": judgement.label_factor,
        "judgement_j_past": float(judged["youden_j"]),
        "judgement_flagged_on": str(judged["flagged_on"]),
        "not_judged": judged["not_judged"],
        "decided_by_chance": int((rows["decided_by"] == "chance").sum()),
        "at_risk_factor": settings.at_risk_factor,
        "min_at_risk_days": settings.min_at_risk_days,
        "dormant_days": settings.dormant_days,
        "not_calibrated": chosen["not_calibrated"],
        "statuses": {
            str(key): int(value) for key, value in rows["status"].value_counts().items()
        },
        "backtest_previous_horizon": {
            rule: {
                "j": float(rules.loc[rule, "youden_j"]),
                "auc": float(rules.loc[rule, "auc"]),
            }
            for rule in rules.index
        },
    }
    score = 100.0 - np.where(np.isnan(chance), 50.0, chance)
    return Judgement(score, flag, details)


def addon_chance_calibrated(history, as_of, horizon, customers):
    """The addon's chance of return in calibrated mode (:func:`calibrated_run`:
    the combined model the night fits with the judgement's label factor,
    scored as the nightly run does). Score: 100 - chance; a customer without
    a number scores 50, as with no opinion. Flag: chance below 50 % (the
    back-test's rule)."""
    run = calibrated_run(history, as_of, horizon)
    rows = run["verdict"].set_index("partner_id").reindex(customers)
    chance = rows["return_probability"].to_numpy(dtype="float64")
    return _chance_judgement(chance, run["models"])


def addon_chance(history, as_of, horizon, customers):
    """The addon's chance of return in fixed mode: :func:`fit_models` (BG/NBD
    or the rhythm model) on the history up to as_of and :func:`score`,
    horizon H, as the nightly run does. Score and flag as
    :func:`addon_chance_calibrated`."""
    eng = engine()
    tx = transactions(history)
    settings = eng.RetentionSettings()
    models = eng.fit_models(tx, as_of, settings, horizon_days=horizon)
    scored = eng.score(tx, as_of, models, settings)
    chance = _by_customer(scored, customers, "return_probability")
    return _chance_judgement(chance, models)


def _chance_judgement(chance, models):
    missing = np.isnan(chance)
    flag = ~missing & (chance < engine_module("backtest").PROBABILITY_CUT)
    model = models.iloc[0] if len(models) else {}
    details = {
        "model": model.get("model"),
        "label_factor": _plain(model.get("label_factor")),
        "bgnbd_auc": _plain(model.get("bgnbd_auc")),
        "rhythm_auc": _plain(model.get("rhythm_auc")),
        "without_chance": int(missing.sum()),
        "_chance": chance,
    }
    return Judgement(100.0 - np.where(missing, 50.0, chance), flag, details)


def days_since(history, as_of, horizon, customers):
    """Days since the last visit (flag: more than D days, D chosen on the
    previous horizon over :data:`FIXED_DAYS`)."""
    last = upto(history, as_of).groupby("customer")["day"].max().reindex(customers)
    return Judgement((as_of - last).dt.days.to_numpy(dtype="float64"))


def bgnbd_expected(history, as_of, horizon, customers):
    """BG/NBD fitted by maximum likelihood on every customer's history up to
    as_of; score: minus the purchases expected in the next H days."""
    pred = engine_module("predict")
    summary = pred.rfm_summary(transactions(history), as_of)
    params = pred.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    expected = pred.bgnbd_expected_visits(
        params, horizon, summary["frequency"], summary["recency"], summary["T"]
    )
    visits = pd.Series(np.asarray(expected), index=summary["partner_id"].to_numpy())
    return Judgement(
        -visits.reindex(customers).to_numpy(dtype="float64"),
        details={"params": dict(params._asdict())},
    )


FEATURES = [
    "log_recency",
    "log_interval",
    "has_interval",
    "log_visits",
    "log_tenure",
    "log_ticket",
]


def simple_features(history, as_of, customers):
    """Per customer, from the purchases up to as_of: log(1 + days since the
    last visit), log(1 + median days between visits) and whether there is
    one, log(1 + visits), log(1 + days since the first visit), log(1 +
    average amount of a visit)."""
    rows = upto(history, as_of).sort_values(["customer", "day"])
    by = rows.groupby("customer")
    gaps = by["day"].diff().dt.days
    frame = pd.DataFrame(
        {
            "first": by["day"].min(),
            "last": by["day"].max(),
            "visits": by.size(),
            "ticket": by["amount"].mean(),
            "interval": gaps.groupby(rows["customer"]).median(),
        }
    ).reindex(customers)
    interval = frame["interval"].to_numpy(dtype="float64")
    has = np.isfinite(interval)
    return np.column_stack(
        [
            np.log1p((as_of - frame["last"]).dt.days.to_numpy(dtype="float64")),
            np.where(has, np.log1p(np.where(has, interval, 0.0)), 0.0),
            has.astype("float64"),
            np.log1p(frame["visits"].to_numpy(dtype="float64")),
            np.log1p((as_of - frame["first"]).dt.days.to_numpy(dtype="float64")),
            np.log1p(np.maximum(frame["ticket"].to_numpy(dtype="float64"), 0.0)),
        ]
    )


def fit_logistic(features, label, l2=1.0, steps=50):
    """L2-penalised logistic regression by Newton's method on standardised
    features: (mean, scale, coefficients with the intercept first)."""
    X = np.asarray(features, dtype="float64")
    y = np.asarray(label, dtype="float64")
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1.0
    design = np.column_stack([np.ones(len(X)), (X - mean) / scale])
    penalty = np.r_[0.0, np.full(X.shape[1], l2)]
    coef = np.zeros(design.shape[1])
    for _step in range(steps):
        p = 1.0 / (1.0 + np.exp(-(design @ coef)))
        gradient = design.T @ (p - y) + penalty * coef
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        move = np.linalg.solve(hessian, gradient)
        coef -= move
        if np.max(np.abs(move)) < 1e-9:
            break
    return mean, scale, coef


def logistic_probability(model, features):
    mean, scale, coef = model
    z = coef[0] + ((np.asarray(features) - mean) / scale) @ coef[1:]
    return 1.0 / (1.0 + np.exp(-z))


def logistic(history, as_of, horizon, customers):
    """A logistic model of :func:`simple_features` trained on the customers
    judged as of as_of - H, labelled by no purchase in (as_of - H, as_of],
    applied to the features as of as_of; score: the chance of leaving."""
    cut = as_of - pd.Timedelta(days=int(horizon))
    trained_on = judged_customers(history, cut)
    label = left_after(history, trained_on, cut, horizon)
    model = fit_logistic(simple_features(history, cut, trained_on), label)
    score = logistic_probability(model, simple_features(history, as_of, customers))
    return Judgement(
        score,
        details={
            "trained_on": len(trained_on),
            "coefficients": dict(
                zip(["intercept", *FEATURES], model[2].tolist(), strict=True)
            ),
        },
    )


METHODS = {
    "addon_default": Method(
        "addon flag, default settings (the seed rule)",
        "addon",
        addon_default,
        baseline=True,
    ),
    "addon_calibrated": Method(
        "addon verdict, calibrated mode (chance below the calibrated threshold)",
        "addon",
        addon_calibrated,
    ),
    "addon_chance_calibrated": Method(
        "addon chance of return, calibrated mode (flag: below 50 %)",
        "addon",
        addon_chance_calibrated,
    ),
    "addon_chance": Method(
        "addon chance of return, fixed mode (flag: below 50 %)",
        "addon",
        addon_chance,
    ),
    "fixed_days": Method(
        "no visit for more than D days (D chosen on the previous horizon)",
        "baseline",
        days_since,
        baseline=True,
        thresholds=FIXED_DAYS,
    ),
    "bgnbd": Method(
        "BG/NBD expected purchases (threshold chosen on the previous horizon)",
        "baseline",
        bgnbd_expected,
        baseline=True,
    ),
    "logistic": Method(
        "logistic model of simple features (trained on the previous horizon)",
        "baseline",
        logistic,
        baseline=True,
    ),
}
# The addon's outputs compared with the best baseline, by metric.
COMPARED = (
    ("addon_calibrated", "j"),
    ("addon_default", "j"),
    ("addon_chance_calibrated", "j"),
    ("addon_chance_calibrated", "auc"),
    ("addon_calibrated", "auc"),
    ("addon_chance", "auc"),
)


def honest_flag(method, history, as_of, horizon):
    """The threshold of a method without a flag of its own: the method run
    as of cut = as_of - H on the purchases up to cut, the threshold on its
    score with the best J against the purchases in (cut, as_of] (the
    previous horizon). Returns (threshold, its J on the previous horizon)."""
    cut = as_of - pd.Timedelta(days=int(horizon))
    before = upto(history, cut)
    customers = judged_customers(before, cut)
    found = method.run(before, cut, horizon, customers)
    left = left_after(history, customers, cut, horizon)
    return best_threshold(found.score, left, method.thresholds)


def judge(dataset, methods=None):
    """Every method's figures on the dataset, the comparisons and the
    diagnostics, as a JSON-ready dict. Methods see the purchases up to
    as_of only."""
    started = time.perf_counter()
    methods = methods or METHODS
    history = upto(dataset.days, dataset.as_of)
    customers = judged_customers(history, dataset.as_of)
    left = outcome(dataset, customers)
    results, judgements = {}, {}
    for name, method in methods.items():
        began = time.perf_counter()
        found = method.run(history, dataset.as_of, dataset.horizon, customers)
        details = dict(found.details or {})
        flag = found.flag
        if flag is None:
            threshold, j_before = honest_flag(
                method, history, dataset.as_of, dataset.horizon
            )
            flag = found.score > threshold
            details |= {"threshold": threshold, "j_previous_horizon": j_before}
        flag = np.asarray(flag, dtype=bool)
        judgements[name] = Judgement(found.score, flag, details)
        tp, fp, fn, tn = confusion(flag, left)
        results[name] = {
            "label": method.label,
            "kind": method.kind,
            "baseline": method.baseline,
            "j": youden_j(flag, left),
            "auc": auc(left, found.score),
            "precision": precision(flag, left),
            "recall": recall(flag, left),
            "flagged": int(flag.sum()),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
            "seconds": round(time.perf_counter() - began, 2),
            "details": _plain(details),
        }
    comparisons = compare(results, judgements, left)
    report = {
        "title": dataset.title,
        "source": dataset.source,
        "as_of": str(dataset.as_of.date()),
        "horizon_days": dataset.horizon,
        "left_means": dataset.label,
        "customers": len(customers),
        "leavers": int(left.sum()),
        "leavers_share": float(left.mean()),
        "methods": results,
        "comparisons": comparisons,
        "diagnostics": _plain(diagnose(dataset, customers, left, judgements)),
    }
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


def best_baseline(results, metric, exclude=None):
    """The name of the baseline with the best ``metric`` (not ``exclude``)."""
    candidates = {
        name: figures[metric]
        for name, figures in results.items()
        if figures["baseline"] and name != exclude and np.isfinite(figures[metric])
    }
    return max(candidates, key=candidates.get) if candidates else None


def compare(results, judgements, left):
    """Each :data:`COMPARED` addon output minus the best baseline other than
    itself (the seed rule is one), and minus the best of the baselines that
    are not the addon's when that is another, with paired bootstrap
    intervals."""
    found = []
    for name, metric in COMPARED:
        if name not in results:
            continue
        best = best_baseline(results, metric, exclude=name)
        external = best_baseline(
            {key: value for key, value in results.items() if value["kind"] != "addon"},
            metric,
        )
        for scope, other in (("all", best), ("not_addon", external)):
            if other is None or (scope == "not_addon" and other == best):
                continue
            pick = (lambda j: j.flag) if metric == "j" else (lambda j: j.score)
            difference, low, high = paired_bootstrap(
                left, pick(judgements[name]), pick(judgements[other]), metric
            )
            found.append(
                {
                    "addon": name,
                    "metric": metric,
                    "baseline": other,
                    "baselines": scope,
                    "addon_value": results[name][metric],
                    "baseline_value": results[other][metric],
                    "difference": difference,
                    "low": low,
                    "high": high,
                }
            )
    return found


# --- Diagnostics: why the addon wins or loses ---------------------------------


def diagnose(dataset, customers, left, judgements):
    """Figures that explain the comparison: the new customers the statuses
    never flag, what the calibration chose against the best choice in
    hindsight, the fixed days chosen against the best in hindsight, and,
    when the truth is known, how often "no purchase in 91 days" is wrong."""
    eng = engine()
    history = upto(dataset.days, dataset.as_of)
    metrics = eng.compute_metrics(
        transactions(history), dataset.as_of, eng.RetentionSettings()
    )
    rows = metrics.set_index("partner_id").reindex(customers).reset_index()
    new = rows["status"].to_numpy() == "new"
    found = {"new": _new_customers(new, judgements, left)}
    found["calibration_hindsight"] = _calibration_hindsight(rows, left)
    if "fixed_days" in judgements:
        score = judgements["fixed_days"].score
        days, j = best_threshold(score, left, FIXED_DAYS)
        found["fixed_days_hindsight"] = {"days": days, "j": j}
    if "addon_chance" in judgements:
        chance = judgements["addon_chance"].details["_chance"]
        known = ~np.isnan(chance)
        found["chance"] = {
            "without_chance": int((~known).sum()),
            "auc_with_a_chance_only": auc(left[known], 100.0 - chance[known]),
            "auc_missing_as_0": auc(left, 100.0 - np.nan_to_num(chance, nan=0.0)),
        }
    if "logistic" in judgements:
        found["logistic_half_cut_j"] = youden_j(
            judgements["logistic"].score > 0.5, left
        )
    if dataset.truth is not None:
        found["label"] = _label_check(dataset)
    return found


def _new_customers(new, judgements, left):
    """The customers new by the default settings (first visit in the last
    90 days: never flagged), how many left, and each flag's J without them."""
    result = {
        "new": int(new.sum()),
        "new_leavers": int((new & left).sum()),
        "share_of_leavers": float((new & left).sum() / max(left.sum(), 1)),
        "leavers_share_among_new": float(left[new].mean()) if new.any() else None,
    }
    rest = ~new
    if rest.any():
        for name, judgement in judgements.items():
            result[f"j_without_new_{name}"] = youden_j(judgement.flag[rest], left[rest])
    return result


def _calibration_hindsight(rows, left):
    """The grid point of the calibration with the best J on the very
    customers and outcome judged here (hindsight, for the diagnosis only),
    from the engine's own grid and rule."""
    bt = engine_module("backtest")
    points = bt._grid_points(bt.GRID, engine().RetentionSettings())
    flagged, caught = bt._grid_counts(points, rows, left)
    gone, stayed = int(left.sum()), int((~left).sum())
    j = caught / gone - (flagged - caught) / stayed
    best = int(np.argmax(j))
    point = points.iloc[best]
    return {
        "at_risk_factor": float(point["at_risk_factor"]),
        "min_at_risk_days": int(point["min_at_risk_days"]),
        "dormant_days": int(point["dormant_days"]),
        "j": float(j[best]),
    }


def _label_check(dataset):
    """How "no purchase in the next 91 days" (what the calibration and the
    baselines learn from) agrees with the truth, as of as_of and as of
    as_of - H (the horizon they learn on)."""
    found = {}
    cut = dataset.as_of - pd.Timedelta(days=dataset.horizon)
    for key, day in (("as_of", dataset.as_of), ("previous_horizon", cut)):
        judged = judged_customers(dataset.days, day)
        stopped = dataset.stopped_on.reindex(judged)
        truth = (stopped.notna() & (stopped <= day)).to_numpy()
        absent = left_after(dataset.days, judged, day, dataset.horizon)
        found[key] = {
            "customers": len(judged),
            "stopped": int(truth.sum()),
            "absent_91_days": int(absent.sum()),
            "absent_but_still_customers": int((absent & ~truth).sum()),
            "stopped_but_came": int((truth & ~absent).sum()),
        }
    return found


# --- Output -------------------------------------------------------------------


def _plain(value):
    """JSON-ready: Python numbers, None for NaN, lists for arrays."""
    if isinstance(value, dict):
        # Keys starting with "_" are the methods' arrays for the diagnostics.
        return {
            str(key): _plain(item)
            for key, item in value.items()
            if not str(key).startswith("_")
        }
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def machine():
    """The machine, as the other files of benchmark/results/ describe it."""
    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        with open("/proc/cpuinfo") as info:
            cpu = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in info
                    if line.startswith("model name")
                ),
                cpu,
            )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(memory / 2**30, 1),
        "cpu": cpu,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def _commit():
    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD") or None,
        # Changes to what the figures depend on, not to the rest of the tree.
        "uncommitted_changes": bool(git("status", "--porcelain", "--", *MEASURED)),
    }


def _cell(value, digits=3):
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def summary_table(reports):
    """The issue's table: addon against the best honest baseline."""
    lines = [
        "| history | customers | left | addon flag J (calibrated) | best baseline J "
        "| difference [95 % CI] | addon chance AUC | best baseline AUC "
        "| difference [95 % CI] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for report in reports.values():
        cells = {}
        for item in report["comparisons"]:
            if item["baselines"] == "all" and (item["addon"], item["metric"]) in (
                ("addon_calibrated", "j"),
                ("addon_chance_calibrated", "auc"),
            ):
                cells[item["metric"]] = (
                    f"{_cell(item['addon_value'])}",
                    f"{_cell(item['baseline_value'])} ({item['baseline']})",
                    f"{item['difference']:+.3f} [{item['low']:+.3f}, "
                    f"{item['high']:+.3f}]",
                )
        empty = ("n/a", "n/a", "n/a")
        lines.append(
            f"| {report['title']} (as of {report['as_of']}) | "
            f"{report['customers']:,} | {100 * report['leavers_share']:.0f} % | "
            + " | ".join(cells.get("j", empty) + cells.get("auc", empty))
            + " |"
        )
    return "\n".join(lines)


def methods_table(reports):
    """Every method's J, AUC, precision, recall and share flagged."""
    lines = [
        "| history | method | J | AUC | precision | recall | flagged |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, report in reports.items():
        for method, figures in report["methods"].items():
            extra = ""
            details = figures["details"]
            if method == "fixed_days":
                extra = f" (D = {details['threshold']:.0f})"
            elif method == "addon_calibrated" and details["kind"] == "chance":
                extra = (
                    f" (chance < {details['chance_threshold']:g} %, "
                    f"k = {details['label_factor']:g})"
                )
            elif method == "addon_calibrated":
                extra = (
                    f" (cadence: {details['at_risk_factor']:g} x interval, "
                    f"{details['min_at_risk_days']} to {details['dormant_days']} days)"
                )
            elif method in ("addon_chance", "addon_chance_calibrated"):
                extra = f" ({details['model']})"
            flagged = figures["flagged"] / report["customers"]
            lines.append(
                f"| {name} | {method}{extra} | {_cell(figures['j'])} | "
                f"{_cell(figures['auc'])} | {_cell(figures['precision'])} | "
                f"{_cell(figures['recall'])} | {100 * flagged:.0f} % |"
            )
    return "\n".join(lines)


def comparisons_table(reports):
    lines = [
        "| history | addon | metric | best baseline | difference | 95 % CI |",
        "|---|---|---|---|---|---|",
    ]
    for name, report in reports.items():
        for item in report["comparisons"]:
            lines.append(
                f"| {name} | {item['addon']} | {item['metric']} | "
                f"{item['baseline']} ({_cell(item['baseline_value'])}) | "
                f"{item['difference']:+.3f} | [{item['low']:+.3f}, "
                f"{item['high']:+.3f}] |"
            )
    return "\n".join(lines)


def write(reports, seconds, path=RESULTS):
    """Write (or update, dataset by dataset) the results file."""
    path = Path(path)
    previous = {}
    if path.exists():
        with contextlib.suppress(ValueError, OSError):
            previous = json.loads(path.read_text()).get("datasets", {})
    result = {
        "date": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "command": "python3 -m tests.accuracy",
        "horizon_days": HORIZON_DAYS,
        "bootstrap_draws": BOOTSTRAP_DRAWS,
        "seed": SEED,
        "addon": _commit(),
        "machine": machine(),
        "seconds": round(seconds, 1),
        "datasets": previous | reports,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(result), indent=2) + "\n")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset",
        action="append",
        choices=list(DATASETS),
        help="run only this history (repeatable); default: all",
    )
    parser.add_argument(
        "--method",
        action="append",
        choices=list(METHODS),
        help="run only this method (repeatable); default: all",
    )
    parser.add_argument(
        "--output",
        help=f"results file (default {RESULTS.relative_to(REPO_ROOT)}; a run of "
        "some methods only writes none unless given one)",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print only, write no file"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    reports = {}
    for name in args.dataset or list(DATASETS):
        dataset = DATASETS[name]()
        methods = {key: METHODS[key] for key in args.method or METHODS}
        reports[name] = judge(dataset, methods)
        print(
            f"{name}: {reports[name]['customers']:,} customers judged as of "
            f"{reports[name]['as_of']}, {reports[name]['leavers']:,} left "
            f"({reports[name]['left_means']}); {reports[name]['seconds']:.1f} s",
            flush=True,
        )
    seconds = time.perf_counter() - started
    print()
    print(summary_table(reports))
    print()
    print(methods_table(reports))
    print()
    print(comparisons_table(reports))
    print()
    for name, report in reports.items():
        print(f"{name} diagnostics: {json.dumps(report['diagnostics'])}")
    print(f"\n{seconds:.1f} s")
    if not args.no_write and (args.output or not args.method):
        print(f"written: {write(reports, seconds, args.output or RESULTS)}")


if __name__ == "__main__":
    main()
