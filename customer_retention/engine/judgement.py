"""One verdict per customer in calibrated mode: the chance of return decides.

The calibrated judgement of a company is a few numbers chosen on its own
past (:func:`calibrate_judgement`, monthly, in the back-test):

* ``label_factor`` (k): when a customer counts as gone. A customer left when
  they do not come back within the horizon H, or within k x their usual
  interval when that is longer (:func:`predict.return_windows`): a car
  serviced every six months is not gone after three quiet months. k comes
  from the business's own rhythm (:func:`predict.label_factors`); 0 where its
  customers come back after any gap, so that the horizon alone tells;
* ``chance_threshold`` (percent): a customer is at risk (or lost) below it,
  new or active at or above it. It is the threshold with the best Youden's J
  on the company's past, out of sample: the combined model learnt on the
  days before a past day, its chances on that day against who came back
  within their window after it.

Each night the combined model (``fit_models(..., label_factor=k)``) gives
every customer a chance, and :func:`judge` turns (metrics, chance,
judgement) into the status: the status and the chance never contradict each
other. Customers without a chance (a company with too few customers for a
model, refunds only) keep the at-risk rule of the settings (the cadence
rule). Fixed mode never calls this module: its statuses stay the seeds'.

How the Odoo layer calls it in calibrated mode:

* monthly, the back-test: ``result = backtest(transactions, as_of, settings,
  horizon_days=H)`` (the sample's transactions, as today); keep on the
  company, beside the calibrated thresholds of ``result.calibration``, the
  row of ``result.judgement`` (:data:`JUDGEMENT_COLUMNS`): the four fields
  of :class:`Judgement` (kind, chance_threshold, label_factor,
  horizon_days; :meth:`Judgement.as_dict`), and for display flagged_on,
  youden_j, cadence_youden_j and not_judged;
* each night, the fit: ``fit_models(transactions, as_of, settings,
  horizon_days=H, label_factor=k)`` with the kept k (the combined model);
* each chunk: ``metrics = compute_metrics(...)`` with the calibrated
  settings, ``predictions = score(..., metrics=metrics)``, then
  ``judge(metrics, predictions, Judgement.from_dict(kept), as_of, settings)``
  gives the rows to write (status, overdue, alert, action replaced) and
  ``render_reasons`` of them the sentences.
"""

# The engine has no env: `_` only marks templates for Odoo's translation
# export; the Odoo layer translates them.
# pylint: disable=prefer-env-translation

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from . import rules
from .metrics import _alert_and_action, _overdue
from .predict import (
    HORIZON_DAYS,
    MAX_LABEL_HORIZONS,
    MIN_CUSTOMERS,
    MIN_OUTCOME,
    SAMPLE,
    PastDays,
    auc,
    label_factors,
    return_windows,
    rhythm_probability,
)
from .settings import _, settings_by_company

KINDS = (
    ("chance", _("Chance of return below the calibrated threshold")),
    ("cadence", _("At-risk rule of the settings (no chance of return to judge by)")),
)
# Why a company is judged by the cadence rule in calibrated mode.
NOT_JUDGED = (
    ("too_few_customers", _("Too few customers to learn and check a chance on.")),
    ("one_outcome", _("Too few customers who came back, or too few who did not.")),
    (
        "not_better",
        _(
            "On the business's own past the chance of return told the leavers no "
            "better than the at-risk rule of the settings."
        ),
    ),
)
# Thresholds tried, in percent.
THRESHOLDS = tuple(range(1, 100))
JUDGEMENT_COLUMNS = [
    "company_id",
    "kind",
    "chance_threshold",
    "label_factor",
    "horizon_days",
    "flagged_on",
    "tp",
    "fp",
    "fn",
    "tn",
    "n",
    "youden_j",
    "auc",
    "cadence_youden_j",
    "not_judged",
]
# What judge() adds to the metrics rows.
VERDICT_COLUMNS = [
    "return_probability",
    "return_days",
    "chance_threshold",
    "decided_by",
]


@dataclass(frozen=True)
class Judgement:
    """The calibrated judgement of one company, what the Odoo layer keeps
    on it: ``kind`` ("chance" or "cadence", see :data:`KINDS`),
    ``chance_threshold`` (percent; None with the cadence kind),
    ``label_factor`` (k, 0: the horizon alone) and ``horizon_days`` (H,
    the horizon of the chance)."""

    kind: str = "cadence"
    chance_threshold: float | None = None
    label_factor: float = 0.0
    horizon_days: int = HORIZON_DAYS

    def as_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        """From :meth:`as_dict` (or a :data:`JUDGEMENT_COLUMNS` row)."""
        values = values or {}
        threshold = values.get("chance_threshold")
        kind = values.get("kind") or "cadence"
        if threshold is None or not np.isfinite(float(threshold)):
            kind, threshold = "cadence", None
        return cls(
            kind=kind,
            chance_threshold=None if threshold is None else float(threshold),
            label_factor=float(values.get("label_factor") or 0.0),
            horizon_days=int(values.get("horizon_days") or HORIZON_DAYS),
        )


def judgements_of(calibration):
    """{company_id: Judgement} of a :func:`calibrate_judgement` frame."""
    return {
        int(row["company_id"]): Judgement.from_dict(row)
        for row in calibration.to_dict("records")
    }


# --- Calibration ----------------------------------------------------------------


def calibrate_judgement(
    transactions,
    as_of,
    settings=None,
    horizon_days=HORIZON_DAYS,
    sample=SAMPLE,
    seed=0,
    min_customers=MIN_CUSTOMERS,
    past=None,
):
    """The calibrated judgement of each company as of ``as_of``, from the
    transactions on or before it only.

    k = :func:`predict.label_factors` as of ``as_of``. The day of the flags
    is as_of - E, E the longest window a customer may have (H when k is 0,
    else :data:`predict.MAX_LABEL_HORIZONS` x H), so that every window after
    it ends by as_of. The combined model is learnt as of that day's past
    (:meth:`PastDays.train`, as ``fit_models`` does each night), gives the
    company's sampled customers their chance on that day, and the threshold
    of :data:`THRESHOLDS` with the best J against who did not come back at
    all by as_of is kept (the smallest of equals): the surest sign of a
    customer gone for good that the past shows (with k = 0, no visit within
    the horizon). A company with fewer than ``min_customers`` customers, or
    :data:`MIN_OUTCOME` of each outcome, on that day or on the days before it
    (a business with a rhythm needs 3 H of past for its day of the flags and
    a year before it) is judged by the cadence rule, and so is one whose
    chance did not tell the leavers better (J) than the at-risk rule of its
    settings on the same customers (``cadence_youden_j``): the chance
    replaces the rule only where the business's own past says it does
    better.

    :param past: a :class:`PastDays` of the same transactions (shared by
        the back-test's steps); built from them when None.
    :return: frame with :data:`JUDGEMENT_COLUMNS`, one row per company: the
        judgement, the day of the flags it was chosen on, its counts, J and
        the AUC of the chance there, and ``not_judged`` (:data:`NOT_JUDGED`)
        for the cadence kind.
    """
    as_of = pd.Timestamp(as_of).normalize()
    horizon = int(horizon_days)
    if past is None:
        past = PastDays.of(transactions, as_of, settings, horizon, sample, seed)
    if past is None:
        return pd.DataFrame(columns=JUDGEMENT_COLUMNS)
    sampled = past.tx[past.tx["date"] <= as_of]
    factors = label_factors(sampled, as_of, settings)
    rows = []
    for company in np.unique(past.companies):
        factor = factors.get(int(company), 0.0)
        found = _judge_company(past, company, as_of, factor, min_customers)
        rows.append({"company_id": int(company), "horizon_days": horizon, **found})
    result = pd.DataFrame(rows, columns=JUDGEMENT_COLUMNS)
    result["not_judged"] = pd.Series(
        [row["not_judged"] for row in rows], index=result.index, dtype=object
    )
    return result


def flag_days(horizon_days, factor):
    """Days before as_of of the day the threshold is chosen on."""
    return int(horizon_days) * (MAX_LABEL_HORIZONS if factor else 1)


def _judge_company(past, company, as_of, factor, min_customers):
    day = as_of - pd.Timedelta(days=flag_days(past.horizon, factor))
    found = {
        "kind": "cadence",
        "chance_threshold": None,
        "label_factor": float(factor),
        "flagged_on": day.date(),
        "not_judged": None,
    }
    empty = {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "n": 0}
    nan = {
        "youden_j": float("nan"),
        "auc": float("nan"),
        "cadence_youden_j": float("nan"),
    }
    model = past.train(company, day, factor, min_customers)
    if model is None:
        return found | empty | nan | {"not_judged": "too_few_customers"}
    rhythm, params = model
    codes, values, _came = past.examples(company, day, as_of, factor, params)
    if len(codes) < min_customers:
        return found | empty | nan | {"not_judged": "too_few_customers"}
    # Gone for good, as far as one can see: not back at all by as_of, the
    # end of the longest window (with k = 0, the horizon: the same).
    gone = ~(past.next_visit(day, as_of)[codes] <= (as_of - day).days)
    came = ~gone
    if min(int(gone.sum()), int(came.sum())) < MIN_OUTCOME:
        return found | empty | nan | {"n": len(codes), "not_judged": "one_outcome"}
    chance = 100.0 * rhythm_probability(rhythm, values)
    threshold, counts = best_threshold(chance, gone)
    # The at-risk rule of the settings on the same customers and outcome.
    rows, _rhythm, _summary, _cadence = past.rows(day)
    status = pd.Series(past.status(day), index=rows).reindex(codes).to_numpy()
    cadence = _j(_counts(rules.flagged(status), gone))
    found |= counts | {
        "youden_j": _j(counts),
        "auc": auc(gone, 100.0 - chance),
        "cadence_youden_j": cadence,
    }
    if not _j(counts) > cadence:
        return found | {"not_judged": "not_better"}
    return found | {"kind": "chance", "chance_threshold": float(threshold)}


def _counts(flag, gone):
    tp, fp = int(np.sum(flag & gone)), int(np.sum(flag & ~gone))
    return {
        "tp": tp,
        "fp": fp,
        "fn": int(gone.sum()) - tp,
        "tn": int((~gone).sum()) - fp,
        "n": len(flag),
    }


def best_threshold(chance, gone, thresholds=THRESHOLDS):
    """The threshold t (percent) of ``thresholds`` whose flag, chance < t,
    has the best Youden's J against ``gone``, the smallest of equals; and
    its counts (tp, fp, fn, tn, n)."""
    chance = np.asarray(chance, dtype="float64")
    gone = np.asarray(gone, dtype=bool)
    cuts = np.asarray(thresholds, dtype="float64")
    left, stayed = np.sort(chance[gone]), np.sort(chance[~gone])
    # Flagged: strictly below t.
    caught = np.searchsorted(left, cuts, side="left")
    false = np.searchsorted(stayed, cuts, side="left")
    j = caught / max(len(left), 1) - false / max(len(stayed), 1)
    # Equals within rounding (2/3 - 0 and 1 - 1/3 differ in the last bit).
    best = int(np.argmax(j >= j.max() - 1e-12))
    tp, fp = int(caught[best]), int(false[best])
    counts = {
        "tp": tp,
        "fp": fp,
        "fn": len(left) - tp,
        "tn": len(stayed) - fp,
        "n": len(chance),
    }
    return float(cuts[best]), counts


def _j(counts):
    tp, fp, fn, tn = counts["tp"], counts["fp"], counts["fn"], counts["tn"]
    return tp / max(tp + fn, 1) - fp / max(fp + tn, 1)


# --- The verdict -------------------------------------------------------------------


def judge(metrics, predictions, judgements, as_of, settings=None):
    """The status of each customer in calibrated mode, from its metrics
    rows (:func:`compute_metrics` as of ``as_of``, with the calibrated
    settings: their status is the cadence rule's), its chance
    (:func:`score` rows) and the company's :class:`Judgement` (one, or
    ``{company_id: Judgement}``; a company missing from the dict is judged
    by the cadence rule).

    A customer of a company of the chance kind with a chance of the combined
    model is judged by it: below the threshold at risk, or lost once more
    than the lost days have passed since their last order; at or above it
    new (first order at most the new days ago) or active. Any other customer
    keeps the cadence rule's status. Overdue, alert and action follow the
    status. Returns a copy of ``metrics`` with the status, overdue, alert
    and action replaced and :data:`VERDICT_COLUMNS` added:
    ``return_probability`` (percent; NaN without), ``return_days`` (the
    days the chance is for: the customer's window, see
    :func:`predict.return_windows`), ``chance_threshold`` (NaN when the
    cadence rule decided) and ``decided_by`` ("chance" or "cadence")."""
    result = metrics.copy()
    if result.empty:
        for column in VERDICT_COLUMNS:
            result[column] = pd.Series(dtype=object)
        return result
    keys = ["company_id", "partner_id"]
    chances = result[keys].merge(
        predictions.loc[:, [*keys, "return_probability", "model"]].drop_duplicates(
            keys
        ),
        how="left",
        on=keys,
    )
    per_company = _per_company(judgements, result["company_id"].unique())
    companies = result["company_id"]
    threshold = _by_company(
        companies,
        per_company,
        lambda value: value.chance_threshold if value.kind == "chance" else np.nan,
    )
    factor = _by_company(companies, per_company, lambda value: value.label_factor)
    horizon = _by_company(companies, per_company, lambda value: value.horizon_days)
    chance = chances["return_probability"].to_numpy(dtype="float64")
    decided = _decided(
        threshold, chance, chances["model"].to_numpy(), result["last_order_date"]
    )
    per_settings = settings_by_company(settings, companies.unique())
    lost_days = _by_company(companies, per_settings, lambda value: value.lost_days)
    new_days = _by_company(companies, per_settings, lambda value: value.new_days)
    since = result["days_since_last"].to_numpy(dtype="float64")
    span = (
        pd.to_datetime(result["last_order_date"])
        - pd.to_datetime(result["first_order_date"])
    ).dt.days.to_numpy(dtype="float64")
    below = chance < threshold
    chosen = np.select(
        [below & (since > lost_days), below, since + span <= new_days],
        ["lost", "at_risk", "new"],
        default="active",
    )
    status = result["status"].to_numpy(dtype=object).copy()
    status[decided] = chosen[decided]
    result["status"] = status
    _overdue(result, pd.Timestamp(as_of).normalize())
    _alert_and_action(result)
    cadence = result["cadence_days"].to_numpy(dtype="float64")
    result["return_probability"] = chance
    result["return_days"] = np.where(
        np.isfinite(chance), _windows(cadence, horizon, factor), np.nan
    )
    result["chance_threshold"] = np.where(decided, threshold, np.nan)
    result["decided_by"] = np.where(decided, "chance", "cadence").astype(object)
    return result


def shown_chance(chance):
    """A chance of return (percent) as it is shown: whole percent, rounded
    down. The threshold is a whole percent, so a chance below it shows below
    it and one at or above it shows at or above it: what is shown never
    contradicts the verdict (12.96 % against 13 % is at risk: 12 %, not 13 %).
    NaN stays NaN."""
    return np.floor(np.asarray(chance, dtype="float64"))


def _by_company(companies, per_company, value_of):
    """``value_of`` each row's company's entry of ``per_company`` (a dict by
    company id), as floats."""
    return companies.map(
        {key: value_of(value) for key, value in per_company.items()}
    ).to_numpy(dtype="float64")


def _decided(threshold, chance, model, last_order_date):
    """Whether the chance decides each row's status: a threshold of the
    chance kind, a chance of the combined model, a last order."""
    return (
        np.isfinite(threshold)
        & np.isfinite(chance)
        & (np.asarray(model, dtype=object) == "combined")
        & pd.Series(last_order_date).notna().to_numpy()
    )


def verdict_columns(rows, judgement):
    """The :data:`VERDICT_COLUMNS` of stored rows (a company's, judged by
    :func:`judge` the night they were written), for the reason read on a
    later day: ``rows`` carry ``return_probability``, ``prediction_model``,
    ``cadence_days`` and ``last_order_date``; ``judgement`` is the company's
    :class:`Judgement` in use, or None (nothing decided by the chance).
    Returns a copy of ``rows`` with the columns added."""
    result = rows.copy()
    chance = result["return_probability"].to_numpy(dtype="float64")
    count = len(result)
    if judgement is None or judgement.kind != "chance" or not count:
        threshold = np.full(count, np.nan)
        factor = horizon = np.zeros(count)
    else:
        threshold = np.full(count, float(judgement.chance_threshold))
        factor = np.full(count, float(judgement.label_factor))
        horizon = np.full(count, float(judgement.horizon_days))
    decided = _decided(
        threshold,
        chance,
        result["prediction_model"].to_numpy(),
        result["last_order_date"],
    )
    cadence = result["cadence_days"].to_numpy(dtype="float64")
    result["return_days"] = np.where(
        decided, _windows(cadence, horizon, factor), np.nan
    )
    result["chance_threshold"] = np.where(decided, threshold, np.nan)
    result["decided_by"] = np.where(decided, "chance", "cadence").astype(object)
    return result


def _windows(cadence, horizon, factor):
    """:func:`predict.return_windows` per row, each with its company's
    horizon and factor."""
    found = np.full(len(cadence), np.nan)
    pairs = np.column_stack([np.nan_to_num(horizon), np.nan_to_num(factor)])
    for h, k in np.unique(pairs, axis=0):
        rows = (np.nan_to_num(horizon) == h) & (np.nan_to_num(factor) == k)
        if h > 0:
            found[rows] = return_windows(cadence[rows], h, k)
    return found


def _per_company(judgements, company_ids):
    if isinstance(judgements, Judgement) or judgements is None:
        shared = judgements or Judgement()
        return {int(company): shared for company in company_ids}
    return {
        int(company): judgements.get(int(company), Judgement())
        for company in company_ids
    }


def verdict_flags(rows):
    """Whether each judged row is flagged (at risk or lost)."""
    return rules.flagged(rows["status"])
