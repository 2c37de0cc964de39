"""Chance of return and expected value per customer: transactions in, one row
per (company, customer) out.

Two models estimate the chance that a customer visits again within the
horizon (``horizon_days``, 90 by default):

* BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"):
  while alive, a customer visits at a Poisson rate (gamma across customers)
  and may drop out right after any visit (beta across customers). Fitted per
  company by maximum likelihood on the company's visits.
* the rhythm model: a logistic regression fitted on the company's own past,
  whose features are known on a day (days since the last visit, cadence, how
  due the next visit is, visits, tenure, trend, ticket) and whose label is a
  visit in the following horizon. It knows what BG/NBD cannot: a customer
  who comes every six months is not due a month after a visit.

Each company keeps the model that ranks better who came back in a back-test
(AUC, see :func:`predict`). The value of a customer comes from BG/NBD (visits
expected in the next 365 days) and the Gamma-Gamma model of the ticket,
whichever model gives the chance.

Units: days for every duration (BG/NBD's ``alpha`` is in days too, unless
:func:`rfm_summary` is asked for weeks), the company currency for amounts,
percent (0-100) for ``return_probability``. A visit is a day with an order of
the customer (``is_visit``), as in :func:`compute_metrics`.
"""

# The engine has no env: `_` only marks templates for Odoo's translation
# export; the Odoo layer translates them.
# pylint: disable=prefer-env-translation

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1
from scipy.stats import rankdata

from .metrics import _clean, _customer_days, compute_metrics
from .money import round_money
from .settings import (
    DAYS_PER_YEAR,
    _,
    settings_by_company,
    without_group_thresholds,
)

HORIZON_DAYS = 90
# Customers per company the models are fitted on (a seeded random sample
# beyond it); every customer is scored.
SAMPLE = 50_000
# Fewer customers with enough history: no model, no number.
MIN_CUSTOMERS = 50
# A customer first seen fewer days ago has too little history for a number.
MIN_HISTORY_DAYS = 30
# Customers of each outcome (came back, did not) the rhythm model and an AUC need.
MIN_OUTCOME = 10
# Repeat customers with a positive ticket the Gamma-Gamma model needs.
MIN_REPEAT_CUSTOMERS = 10

MODELS = (
    ("bgnbd", _("BG/NBD (buying at random until dropping out)")),
    ("rhythm", _("Rhythm (learnt from the customers' own past)")),
    (
        "combined",
        _("Rhythm and BG/NBD together (learnt from several past horizons)"),
    ),
)
# Why a customer has no probability (NaN).
NO_PREDICTION = (
    ("no_visit", _("No visit yet: only refunds or non-visit transactions.")),
    ("too_little_history", _("First visit too recent to tell a rhythm.")),
    ("too_few_customers", _("Too few customers with history to fit a model.")),
    ("no_fit", _("The model could not be fitted on this history.")),
)
PREDICTION_COLUMNS = [
    "company_id",
    "partner_id",
    "return_probability",
    "expected_visits",
    "expected_ticket",
    "predicted_revenue",
    "revenue_at_risk",
    "model",
    "no_prediction",
]
MODEL_COLUMNS = [
    "company_id",
    "model",
    "bgnbd_auc",
    "rhythm_auc",
    "backtest_customers",
    "customers",
    "fitted_on",
    "r",
    "alpha",
    "a",
    "b",
    "p",
    "q",
    "gamma",
    "no_prediction",
    "horizon_days",
    "min_history_days",
    "rhythm_mean",
    "rhythm_scale",
    "rhythm_coef",
    "label_factor",
]
_OBJECT_MODEL_COLUMNS = (
    "model",
    "no_prediction",
    "rhythm_mean",
    "rhythm_scale",
    "rhythm_coef",
)
RHYTHM_FEATURES = [
    "log_days_since",
    "log_cadence",
    "log_due",
    "log_due_squared",
    "has_cadence",
    "log_visits",
    "log_tenure",
    "trend",
    "has_trend",
    "log_ticket",
]
# The combined model (calibrated mode): the rhythm features and what BG/NBD
# says of the customer, in one logistic regression.
COMBINED_FEATURES = [
    *RHYTHM_FEATURES,
    "bgnbd_return",
    "bgnbd_dropped",
    "bgnbd_visits",
]
# It learns from the customers as of this many past days, H days apart: with
# the 91-day horizon, a year of them, so that every season is among them.
TRAINING_HORIZONS = 4
# The window a customer has to come back (see :func:`return_windows`) is at
# most this many horizons.
MAX_LABEL_HORIZONS = 3
# A business has a rhythm when this share of its customers' intervals are at
# most LABEL_FACTORS[-1] x the customer's usual interval; the label factor is
# then the first of LABEL_FACTORS that covers that share (see label_factors).
RHYTHM_COVERAGE = 0.9
LABEL_FACTORS = (1.25, 1.5, 2.0)
# Intervals (in the look-back window) a customer needs to count for it, and
# intervals of such customers a company needs for a factor.
MIN_RHYTHM_GAPS = 3
MIN_RHYTHM_INTERVALS = 100
# Log-parameters stay within +-12 (e^12 = 160,000) after the data are scaled.
_LOG_BOUND = 12.0


class BgNbd(NamedTuple):
    """BG/NBD parameters: purchase rate ~ Gamma(r, alpha) (alpha in the
    time unit of the data), dropout probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


class GammaGamma(NamedTuple):
    """Gamma-Gamma parameters of the ticket: shape ``p`` of a visit's
    amount, its rate ~ Gamma(q, gamma) across customers (gamma in currency)."""

    p: float
    q: float
    gamma: float


class Rhythm(NamedTuple):
    """A fitted rhythm model: standardisation and logistic coefficients
    (``coef[0]`` the intercept) over :data:`RHYTHM_FEATURES`."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray


class Prediction(NamedTuple):
    """What :func:`predict` returns: ``customers`` (:data:`PREDICTION_COLUMNS`)
    and ``models`` (:data:`MODEL_COLUMNS`, one row per company)."""

    customers: pd.DataFrame
    models: pd.DataFrame


# --- BG/NBD ---------------------------------------------------------------


def bgnbd_log_likelihood(params, frequency, recency, T):
    """Log-likelihood of each customer (paper eq. 6 in log form): ``frequency``
    repeat visits, the last ``recency`` after the first, observed for ``T``
    since the first visit (same time unit as ``alpha``)."""
    return _bgnbd_terms(params, frequency, recency, T)[0]


def _bgnbd_terms(params, frequency, recency, T, gradient=False):
    """The log-likelihood of each customer and, with ``gradient``, its
    derivatives by log r, log alpha, log a and log b (4 x n)."""
    r, alpha, a, b = params
    x, tx, T = (np.asarray(v, dtype="float64") for v in (frequency, recency, T))
    repeat = x > 0
    # b + x - 1 is taken with x >= 1: without a repeat visit the term is unused.
    b_x = b + np.maximum(x, 1) - 1
    head = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + x)
        - betaln(a, b)
    )
    still_alive = -(r + x) * np.log(alpha + T)
    # Dropped out right after the last visit: impossible without a repeat visit.
    dropped = np.where(
        repeat, np.log(a) - np.log(b_x) - (r + x) * np.log(alpha + tx), -np.inf
    )
    total = np.logaddexp(still_alive, dropped)
    ll = head + total
    if not gradient:
        return ll, None
    w_alive, w_dropped = np.exp(still_alive - total), np.exp(dropped - total)
    d_r = (
        digamma(r + x)
        - digamma(r)
        + np.log(alpha)
        - w_alive * np.log(alpha + T)
        - w_dropped * np.log(alpha + tx)
    )
    d_alpha = r / alpha - (r + x) * (w_alive / (alpha + T) + w_dropped / (alpha + tx))
    d_a = digamma(a + b) - digamma(a + b + x) + w_dropped / a
    d_b = (
        digamma(b + x)
        - digamma(a + b + x)
        - digamma(b)
        + digamma(a + b)
        - w_dropped / b_x
    )
    return ll, np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])


def fit_bgnbd(frequency, recency, T):
    """Maximum-likelihood BG/NBD parameters (:class:`BgNbd`) for customers
    described as in :func:`bgnbd_log_likelihood`, or None when the likelihood
    has no finite maximum. Minimises the mean negative log-likelihood over the
    log-parameters (SLSQP, exact gradient);
    identical customers are counted once with a weight, and time is scaled to
    a mean ``T`` of 1 for the search (``alpha`` is scaled back)."""
    x, tx, T = (np.asarray(v, dtype="float64") for v in (frequency, recency, T))
    if not len(x):
        return None
    unit = float(T.mean()) or 1.0
    rows, weight = np.unique(
        np.column_stack([x, tx / unit, T / unit]), axis=0, return_counts=True
    )
    weight = weight / weight.sum()

    def loss(log_params):
        ll, grad = _bgnbd_terms(np.exp(log_params), *rows.T, gradient=True)
        if not np.all(np.isfinite(ll)):
            return np.inf, np.zeros(4)
        return -float(weight @ ll), -(grad @ weight)

    # r = 1 with a mean rate of (visits + 1) / T per customer, a = 1, b = 2;
    # a second start only when the first finds no finite maximum.
    alpha0 = np.log(1.0 / (x.mean() + 1.0))
    for start in ((0.0, alpha0, 0.0, np.log(2.0)), (np.log(0.3), alpha0, -0.5, 1.0)):
        best = _minimize(loss, start)
        if np.isfinite(best.fun) and np.all(np.isfinite(best.x)):
            break
    else:
        return None
    r, alpha, a, b = np.exp(best.x)
    return BgNbd(float(r), float(alpha * unit), float(a), float(b))


def _minimize(loss, start, bound=_LOG_BOUND):
    """scipy's SLSQP on ``loss`` (value and gradient), each parameter within
    +-``bound``. Not L-BFGS-B: its linear algebra goes through threaded BLAS,
    which costs milliseconds per step on these tiny problems."""
    start = np.asarray(start, dtype="float64")
    bounds = None if bound is None else [(-bound, bound)] * len(start)
    return minimize(
        loss,
        start,
        jac=True,
        method="SLSQP",
        bounds=bounds,
        options={"ftol": 1e-12, "maxiter": 500},
    )


def _alive_terms(params, frequency, recency, T):
    """(x, tx, T, log-odds of having dropped out) as arrays."""
    r, alpha, a, b = params
    x, tx, T = (np.asarray(v, dtype="float64") for v in (frequency, recency, T))
    with np.errstate(divide="ignore"):
        dropped = np.where(
            x > 0,
            np.log(a)
            - np.log(b + np.maximum(x, 1) - 1)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)),
            -np.inf,
        )
    return x, tx, T, dropped


def bgnbd_p_alive(params, frequency, recency, T):
    """Probability that each customer has not dropped out at ``T``:
    1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + tx))^(r + x))."""
    return expit(-_alive_terms(params, frequency, recency, T)[3])


def bgnbd_return_probability(params, t, frequency, recency, T):
    """P(at least one visit in (T, T + t]) = 1 - [(1 - P_alive) + P_alive
    ((alpha + T) / (alpha + T + t))^(r + x)], as a fraction (0-1)."""
    r, alpha, _a, _b = params
    x, _tx, T, dropped = _alive_terms(params, frequency, recency, T)
    no_visit_if_alive = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    return expit(-dropped) * (1.0 - no_visit_if_alive)


def bgnbd_expected_visits(params, t, frequency, recency, T):
    """Visits expected in (T, T + t] (paper eq. 10)."""
    return _visits_if_alive(params, t, frequency, recency, T) * bgnbd_p_alive(
        params, frequency, recency, T
    )


def _visits_if_alive(params, t, frequency, recency, T):
    """Eq. 10 without its P(alive) factor: the visits expected in (T, T + t]
    of a customer still alive at T,
    (a + b + x - 1) / (a - 1) [1 - ((alpha + T) / (alpha + T + t))^(r + x)
    2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))].

    The power times 2F1 is, by Euler's transformation, 2F1(r + x, a - 1;
    a + b + x - 1; -t / (alpha + T)): used where that argument lies in (-1, 0),
    as for long histories, where the power form overflows; the power form
    elsewhere (scipy's 2F1 loses accuracy below -1)."""
    r, alpha, a, b = params
    # At a = 1 the formula is 0 / 0; a hair away from 1 it is exact to 1e-9.
    if abs(a - 1.0) < 1e-7:
        a = 1.0 + 1e-7
    x, _tx, T = (np.asarray(v, dtype="float64") for v in (frequency, recency, T))
    x, T = np.broadcast_arrays(x, T)
    c = a + b + x - 1
    euler = t < alpha + T
    tail = np.empty(x.shape)
    tail[euler] = hyp2f1(r + x[euler], a - 1, c[euler], -t / (alpha + T[euler]))
    xp, Tp = x[~euler], T[~euler]
    power = np.exp((r + xp) * (np.log(alpha + Tp) - np.log(alpha + Tp + t)))
    tail[~euler] = power * hyp2f1(r + xp, b + xp, c[~euler], t / (alpha + Tp + t))
    return c / (a - 1) * (1.0 - tail)


# --- Gamma-Gamma ------------------------------------------------------------


def gamma_gamma_log_likelihood(params, frequency, monetary):
    """Log-likelihood of each repeat customer's mean ticket ``monetary`` over
    ``frequency`` visits (Fader & Hardie, "The Gamma-Gamma model of monetary
    value", 2013)."""
    return _gamma_gamma_terms(params, frequency, monetary)[0]


def _gamma_gamma_terms(params, frequency, monetary, gradient=False):
    """The log-likelihood of each customer and, with ``gradient``, its
    derivatives by log p, log q and log gamma (3 x n)."""
    p, q, gamma = params
    x, m = (np.asarray(v, dtype="float64") for v in (frequency, monetary))
    px = p * x
    spent = np.log(x * m + gamma)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * spent
    )
    if not gradient:
        return ll, None
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - spent)
    d_q = digamma(px + q) - digamma(q) + np.log(gamma) - spent
    d_gamma = q / gamma - (px + q) / (x * m + gamma)
    return ll, np.array([d_p * p, d_q * q, d_gamma * gamma])


def fit_gamma_gamma(frequency, monetary):
    """Maximum-likelihood :class:`GammaGamma` on repeat customers (frequency
    > 0, monetary > 0; others are ignored), or None without a finite maximum
    or with q <= 1 (the mean ticket would be infinite). Amounts are scaled to
    a mean of 1 for the search (SLSQP on the log-parameters, exact gradient)."""
    x, m = (np.asarray(v, dtype="float64") for v in (frequency, monetary))
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if not len(x):
        return None
    unit = float(m.mean())
    m = m / unit

    def loss(log_params):
        ll, grad = _gamma_gamma_terms(np.exp(log_params), x, m, gradient=True)
        if not np.all(np.isfinite(ll)):
            return np.inf, np.zeros(3)
        return -float(ll.mean()), -grad.mean(axis=1)

    found = _minimize(loss, (0.0, np.log(2.0), 0.0))
    p, q, gamma = np.exp(found.x)
    if not np.isfinite(found.fun) or q <= 1:
        return None
    return GammaGamma(float(p), float(q), float(gamma * unit))


def gamma_gamma_expected_ticket(params, frequency, monetary):
    """Expected amount of a customer's future visit: p (gamma + x m) /
    (p x + q - 1), the population mean gamma p / (q - 1) weighted against the
    customer's own mean ticket m by p x / (p x + q - 1). Customers without a
    repeat visit or with a mean ticket <= 0 (refunds) get the population mean."""
    p, q, gamma = params
    x, m = (np.asarray(v, dtype="float64") for v in (frequency, monetary))
    known = (x > 0) & (m > 0)
    x, m = np.where(known, x, 0.0), np.where(known, m, 0.0)
    return p * (gamma + x * m) / (p * x + q - 1)


# --- Summary of the history -------------------------------------------------


def rfm_summary(transactions, as_of, unit_days=1):
    """One row per customer with a visit on or before ``as_of``, like
    lifetimes' ``summary_data_from_transaction_data``:

    * ``frequency``: repeat visits, the visit days after the first one
      (several orders on one day are one visit; refund-only days are none);
    * ``recency``: from the first to the last visit;
    * ``T``: from the first visit to ``as_of``;
    * ``monetary_value``: the net amount of all the rows after the first
      visit day (orders and refunds) divided by ``frequency``; NaN without a
      repeat visit.

    ``recency`` and ``T`` are in units of ``unit_days`` days (1: days, 7:
    weeks). The whole history counts, not the look-back window."""
    as_of = pd.Timestamp(as_of).normalize()
    tx = _clean(transactions, as_of)
    columns = ["company_id", "partner_id", "frequency", "recency", "T"]
    if tx.empty:
        return pd.DataFrame(columns=[*columns, "monetary_value"])
    customers, days = _customer_days(tx)
    summary = _summary(_day_table(days), len(customers), _day_number(as_of))
    summary[["company_id", "partner_id"]] = customers[["company_id", "partner_id"]]
    summary = summary[summary["visits"] > 0].reset_index(drop=True)
    summary[["recency", "T"]] = summary[["recency", "T"]] / unit_days
    return summary[[*columns, "monetary_value"]]


def _day_number(dates):
    """Days since 1970-01-01 (int64) of a timestamp or a datetime column."""
    if isinstance(dates, pd.Timestamp):
        return int(dates.to_datetime64().astype("datetime64[D]").astype("int64"))
    return np.asarray(dates, dtype="datetime64[D]").astype("int64")


def _day_table(days):
    """The (customer, day) rows of :func:`_customer_days` as plain arrays."""
    return {
        "customer": days["customer"].to_numpy(),
        "day": _day_number(days["date"]),
        "amount": days["amount"].to_numpy(dtype="float64"),
        "visit": days["visit"].to_numpy(dtype=bool),
    }


def _summary(table, count, end):
    """Visits, frequency, recency, T (days), monetary value and the first
    visit day of customers 0..count-1 from the rows on or before day ``end``
    (rows sorted by customer and day)."""
    upto = table["day"] <= end
    visit = upto & table["visit"]
    code, day = table["customer"][visit], table["day"][visit]
    visits = np.bincount(code, minlength=count)
    first = np.full(count, np.nan)
    last = np.full(count, np.nan)
    if len(code):
        starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
        ends = np.r_[starts[1:] - 1, len(code) - 1]
        first[code[starts]] = day[starts]
        last[code[ends]] = day[ends]
    later = upto & (table["day"] > first[table["customer"]])
    after_first = np.bincount(
        table["customer"][later], weights=table["amount"][later], minlength=count
    )
    frequency = np.maximum(visits - 1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(frequency > 0, after_first / frequency, np.nan)
    return pd.DataFrame(
        {
            "visits": visits,
            "frequency": frequency.astype("float64"),
            "recency": last - first,
            "T": end - first,
            "monetary_value": monetary,
            "first_day": first,
        }
    )


def _visited(table, count, start, end):
    """Whether each customer 0..count-1 has a visit in (start, end] (days)."""
    day = table["day"]
    inside = table["visit"] & (day > start) & (day <= end)
    return np.bincount(table["customer"][inside], minlength=count) > 0


# --- The rhythm model -------------------------------------------------------


def rhythm_features(metrics, as_of, horizon_days=HORIZON_DAYS):
    """The :data:`RHYTHM_FEATURES` of rows of :func:`compute_metrics` computed
    as of ``as_of``, for the chance of a visit in the next ``horizon_days``.
    Durations enter as logarithms; ``log_due`` = log((days since the last
    visit + horizon) / cadence) is above 0 when the next visit falls due
    within the horizon, and with its square lets the chance rise as a visit
    falls due and fall again as the customer is long overdue. Without a
    cadence (one visit in the window) or a trend, those features are 0 and
    ``has_cadence`` / ``has_trend`` say so."""
    as_of = pd.Timestamp(as_of).normalize()
    since = metrics["days_since_last"].to_numpy(dtype="float64")
    cadence = metrics["cadence_days"].to_numpy(dtype="float64")
    has_cadence = np.isfinite(cadence) & (cadence > 0)
    safe_cadence = np.where(has_cadence, cadence, 1.0)
    due = np.where(has_cadence, np.log((since + horizon_days) / safe_cadence), 0.0)
    first = pd.to_datetime(metrics["first_order_date"])
    tenure = (as_of - first).dt.days.to_numpy(dtype="float64")
    trend = metrics["trend_pct"].to_numpy(dtype="float64") / 100.0
    has_trend = np.isfinite(trend)
    trend = np.where(has_trend, np.sign(trend) * np.log1p(np.abs(trend)), 0.0)
    ticket = np.nan_to_num(metrics["avg_ticket"].to_numpy(dtype="float64"))
    visits = metrics["visit_count"].to_numpy(dtype="float64")
    features = np.column_stack(
        [
            np.log1p(since),
            np.where(has_cadence, np.log(safe_cadence), 0.0),
            due,
            due**2,
            has_cadence,
            np.log1p(visits),
            np.log1p(np.maximum(tenure, 0.0)),
            trend,
            has_trend,
            np.log1p(np.maximum(ticket, 0.0)),
        ]
    )
    return pd.DataFrame(features, columns=RHYTHM_FEATURES, index=metrics.index)


def fit_rhythm(features, returned, l2=1.0):
    """L2-regularised logistic regression of ``returned`` (a visit in the
    horizon) on standardised ``features``: minimises the summed log-loss plus
    l2 / 2 times the squared coefficients (not the intercept), with SLSQP
    and the exact gradient. Returns a :class:`Rhythm`."""
    X = np.asarray(features, dtype="float64")
    y = np.asarray(returned, dtype="float64")
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    design = np.column_stack([np.ones(len(X)), (X - mean) / scale])
    penalty = np.r_[0.0, np.full(X.shape[1], l2)]

    # einsum, not @: BLAS threads cost more than they bring on these
    # products of a tall matrix and a short vector, tenfold on a busy machine.
    def loss(coef):  # divided by the number of customers: ftol is absolute
        z = np.einsum("ij,j->i", design, coef)
        value = np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * penalty @ coef**2
        gradient = np.einsum("ij,i->j", design, expit(z) - y) + penalty * coef
        return value / len(y), gradient / len(y)

    found = _minimize(loss, np.zeros(design.shape[1]), bound=None)
    return Rhythm(mean, scale, found.x)


def rhythm_probability(model, features):
    """Chance (0-1) of a visit in the horizon the model was fitted for."""
    X = (np.asarray(features, dtype="float64") - model.mean) / model.scale
    return expit(model.coef[0] + np.einsum("ij,j->i", X, model.coef[1:]))


# --- The combined model -------------------------------------------------------


def label_factors(transactions, as_of, settings=None):
    """{company_id: k}: how many times their usual interval the company's
    customers stay away before they come back, where that tells a leaver.

    The intervals between consecutive visits in the look-back window of the
    customers with at least :data:`MIN_RHYTHM_GAPS` of them are divided by
    the customer's usual interval (their median, the cadence); k is the
    first of :data:`LABEL_FACTORS` at or above the :data:`RHYTHM_COVERAGE`
    quantile of these ratios (nine intervals in ten come within k x the
    usual one). When even that is beyond the last factor (customers who come
    back at random, after any gap), or with fewer than
    :data:`MIN_RHYTHM_INTERVALS` such intervals, k is 0: the horizon alone
    says who left. Only transactions on or before ``as_of`` are read."""
    as_of = pd.Timestamp(as_of).normalize()
    tx = _clean(transactions, as_of)
    found = {}
    if tx.empty:
        return found
    customers, days = _customer_days(tx)
    per_company = settings_by_company(settings, customers["company_id"].unique())
    company = customers["company_id"].to_numpy()[days["customer"].to_numpy()]
    lookback = pd.Series(company).map(
        {key: value.lookback_days for key, value in per_company.items()}
    )
    start = as_of - pd.to_timedelta(lookback.to_numpy(dtype="int64"), unit="D")
    inside = days["visit"].to_numpy() & (
        (lookback.to_numpy() == 0) | (days["date"].to_numpy() >= start.to_numpy())
    )
    visits = days[inside]
    code = visits["customer"].to_numpy()
    day = _day_number(visits["date"])
    same = np.r_[False, code[1:] == code[:-1]]
    gaps = pd.DataFrame({"customer": code[same], "gap": np.diff(day)[same[1:]]})
    by_customer = gaps.groupby("customer")["gap"]
    gaps["count"] = by_customer.transform("size")
    gaps["usual"] = by_customer.transform("median")
    gaps = gaps[(gaps["count"] >= MIN_RHYTHM_GAPS) & (gaps["usual"] > 0)]
    gaps["company_id"] = customers["company_id"].to_numpy()[gaps["customer"]]
    for key in np.unique(customers["company_id"].to_numpy()):
        mine = gaps[gaps["company_id"].to_numpy() == key]
        factor = 0.0
        if len(mine) >= MIN_RHYTHM_INTERVALS:
            ratio = mine["gap"].to_numpy() / mine["usual"].to_numpy()
            share = float(np.quantile(ratio, RHYTHM_COVERAGE))
            factor = next((k for k in LABEL_FACTORS if share <= k + 1e-9), 0.0)
        found[int(key)] = float(factor)
    return found


def return_windows(cadence_days, horizon_days, factor):
    """The days each customer has to come back before counting as gone: the
    horizon, or ``factor`` x their usual interval (cadence) when that is
    longer, at most :data:`MAX_LABEL_HORIZONS` horizons; the horizon alone
    without a factor (0 or None) or without a cadence."""
    cadence = np.asarray(cadence_days, dtype="float64")
    window = np.full(cadence.shape, float(horizon_days))
    if factor:
        longer = float(factor) * np.nan_to_num(cadence, nan=0.0)
        window = np.minimum(
            np.maximum(window, longer), MAX_LABEL_HORIZONS * float(horizon_days)
        )
    return window


def _logit(probability, floor=1e-4):
    p = np.clip(np.asarray(probability, dtype="float64"), floor, 1.0 - floor)
    return np.log(p) - np.log1p(-p)


def bgnbd_features(params, horizon_days, frequency, recency, T):
    """The BG/NBD part of :data:`COMBINED_FEATURES`: the log-odds of a visit
    in the horizon, the log of the chance of having dropped out and of the
    visits expected in the horizon (n x 3), each bounded (0.01 % to 99.99 %,
    0.1 %, 0.0001 visits): where the data cannot tell BG/NBD's parameters
    apart (no dropout seen yet), fits of nearby days may differ wildly in
    the extremes, not in these."""
    back = bgnbd_return_probability(params, horizon_days, frequency, recency, T)
    dropped = 1.0 - bgnbd_p_alive(params, frequency, recency, T)
    visits = bgnbd_expected_visits(params, horizon_days, frequency, recency, T)
    return np.column_stack(
        [
            _logit(back),
            np.log(np.maximum(dropped, 1e-3)),
            np.log(np.maximum(visits, 1e-4)),
        ]
    )


def combined_features(metrics, summary, params, as_of, horizon_days):
    """:data:`COMBINED_FEATURES` of :func:`compute_metrics` rows and the
    matching rows of the BG/NBD summary, with the company's BG/NBD
    ``params`` (n x 13)."""
    rhythm = rhythm_features(metrics, as_of, horizon_days).to_numpy()
    bgnbd = bgnbd_features(
        params,
        horizon_days,
        summary["frequency"].to_numpy(),
        summary["recency"].to_numpy(),
        summary["T"].to_numpy(),
    )
    return np.column_stack([rhythm, bgnbd])


class PastDays:
    """The sampled customers as of past days, for the combined model and
    its calibration: each day's rhythm features and BG/NBD summary computed
    once, and when each customer came next. Built from the customers, day
    table and transactions of :func:`_history_tables` (transactions up to
    the last day any outcome is read).

    The BG/NBD part of the features is one function for all the days a
    model learns from and is applied to: BG/NBD fitted as of the model's
    last day (the day it is applied to), so that a feature means the same on
    every day (fits of different days may differ wildly where the data
    cannot tell the parameters apart). For the day the model is applied to,
    the fit reads nothing after it; for the days it learns from, it has seen
    the visits after them, as four parameters of the whole population, never
    as a customer's label."""

    def __init__(self, tx, customers, table, settings, horizon_days):
        self.tx = tx
        self.table = table
        self.settings = without_group_thresholds(settings)
        self.horizon = int(horizon_days)
        self.customers = customers
        self.companies = customers["company_id"].to_numpy()
        # Every customer's days and who is sampled (see :meth:`of`).
        self.whole, self.picked = table, np.ones(len(customers), dtype=bool)
        self._rows = {}
        self._status = {}
        self._fits = {}

    @classmethod
    def of(cls, transactions, as_of, settings, horizon_days, sample, seed):
        """The past of a seeded sample of the customers (None without any
        transaction)."""
        customers, table, sampled_tx, picked = _history_tables(
            transactions, as_of, sample, seed
        )
        if customers is None:
            return None
        past = {key: values[picked[table["customer"]]] for key, values in table.items()}
        found = cls(sampled_tx, customers, past, settings, horizon_days)
        found.whole, found.picked = table, picked
        return found

    def rows(self, day):
        """(codes, rhythm features, BG/NBD summary, cadence) of the sampled
        customers with a visit on or before ``day``."""
        day = pd.Timestamp(day).normalize()
        if day not in self._rows:
            metrics = compute_metrics(
                self.tx[self.tx["date"] <= day], day, self.settings
            )
            rows = _with_codes(metrics, self.customers)
            rows = rows[rows["lifetime_visits"].to_numpy() > 0]
            rows = rows.reset_index(drop=True)
            codes = rows["customer"].to_numpy()
            summary = _summary(self.table, len(self.customers), _day_number(day))
            self._rows[day] = (
                codes,
                rhythm_features(rows, day, self.horizon).to_numpy(),
                summary.iloc[codes].reset_index(drop=True),
                rows["cadence_days"].to_numpy(dtype="float64"),
            )
            self._status[day] = rows["status"].to_numpy(dtype=object)
        return self._rows[day]

    def status(self, day):
        """The status of the rows of :meth:`rows` by the at-risk rule of the
        settings (the cadence rule)."""
        self.rows(day)
        return self._status[pd.Timestamp(day).normalize()]

    def bgnbd(self, company, day):
        """BG/NBD of the company's sampled customers as of ``day`` (None
        without a finite fit)."""
        key = (int(company), pd.Timestamp(day).normalize())
        if key not in self._fits:
            codes, _rhythm, summary, _cadence = self.rows(day)
            mine = summary[self.companies[codes] == company]
            self._fits[key] = fit_bgnbd(mine["frequency"], mine["recency"], mine["T"])
        return self._fits[key]

    def features(self, company, day, params):
        """(codes, :data:`COMBINED_FEATURES`, cadence) of the company's
        customers as of ``day``, with the BG/NBD ``params``."""
        codes, rhythm, summary, cadence = self.rows(day)
        mine = self.companies[codes] == company
        bgnbd = bgnbd_features(
            params,
            self.horizon,
            summary["frequency"].to_numpy()[mine],
            summary["recency"].to_numpy()[mine],
            summary["T"].to_numpy()[mine],
        )
        return codes[mine], np.column_stack([rhythm[mine], bgnbd]), cadence[mine]

    def next_visit(self, day, end):
        """Days from ``day`` to each customer's first visit in (day, end]
        (NaN without one), for customers 0..n-1."""
        start, stop = _day_number(pd.Timestamp(day)), _day_number(pd.Timestamp(end))
        table = self.table
        inside = table["visit"] & (table["day"] > start) & (table["day"] <= stop)
        code, first = table["customer"][inside], table["day"][inside]
        found = np.full(len(self.customers), np.nan)
        if len(code):
            # Rows are sorted by customer and day: each customer's first.
            head = np.r_[True, code[1:] != code[:-1]]
            found[code[head]] = first[head] - start
        return found

    def examples(self, company, day, end, factor, params):
        """The company's customers as of ``day`` whose window to come back
        (:func:`return_windows`) ends by ``end``: (codes, features with the
        BG/NBD ``params``, came back within the window)."""
        codes, values, cadence = self.features(company, day, params)
        window = return_windows(cadence, self.horizon, factor)
        seen = (pd.Timestamp(end) - pd.Timestamp(day)).days
        keep = np.isfinite(values).all(axis=1) & (window <= seen)
        came = self.next_visit(day, end)[codes] <= window
        return codes[keep], values[keep], came[keep]

    def train(self, company, end, factor, min_customers=MIN_CUSTOMERS):
        """The combined model of ``company`` for the day ``end``: BG/NBD as
        of ``end`` and the logistic regression over :data:`COMBINED_FEATURES`
        learnt on its customers as of end - H, end - 2H ...
        (:data:`TRAINING_HORIZONS` days), each labelled by a visit within
        their window, where it ends by ``end``. (Rhythm, BgNbd), or None
        without a BG/NBD fit or with too few customers or outcomes."""
        params = self.bgnbd(company, end)
        if params is None:
            return None
        found, labels = [], []
        for step in range(1, TRAINING_HORIZONS + 1):
            day = pd.Timestamp(end) - pd.Timedelta(days=step * self.horizon)
            _codes, values, came = self.examples(company, day, end, factor, params)
            found.append(values)
            labels.append(came)
        values, labels = np.vstack(found), np.concatenate(labels)
        if len(labels) < min_customers or not _both_outcomes(labels):
            return None
        return fit_rhythm(values, labels), params

    def chance(self, company, day, model):
        """(codes, chance 0-1) of the company's customers as of ``day`` by a
        model of :meth:`train` for that day."""
        rhythm, params = model
        codes, values, _cadence = self.features(company, day, params)
        known = np.isfinite(values).all(axis=1)
        return codes[known], rhythm_probability(rhythm, values[known])


# --- Metrics shared with the back-test ----------------------------------------


def auc(positive, score):
    """Area under the ROC curve by the Mann-Whitney rank formula: the share of
    (positive, negative) pairs where the positive scores higher, ties counting
    one half. Rows with a NaN score are left out; NaN without both classes."""
    positive = np.asarray(positive, dtype=bool)
    score = np.asarray(score, dtype="float64")
    known = ~np.isnan(score)
    positive, score = positive[known], score[known]
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(score)  # ties get their average rank
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def sample_mask(company_of_customer, sample=SAMPLE, seed=0):
    """Whether each customer (the array holds each one's company) is in the
    seeded sample: every customer of a company with at most ``sample``
    customers, else ``sample`` of them at random, drawn with the seed and the
    company id so that a company's sample does not depend on the others.
    ``sample`` None: everybody."""
    company_of_customer = np.asarray(company_of_customer)
    picked = np.ones(len(company_of_customer), dtype=bool)
    if sample is None:
        return picked
    for company in np.unique(company_of_customer):
        members = np.flatnonzero(company_of_customer == company)
        if len(members) > sample:
            rng = np.random.default_rng([int(seed), int(company)])
            picked[members] = False
            picked[rng.choice(members, size=int(sample), replace=False)] = True
    return picked


# --- The entry points ---------------------------------------------------------


def fit_models(
    transactions,
    as_of,
    settings=None,
    horizon_days=HORIZON_DAYS,
    sample=SAMPLE,
    seed=0,
    min_customers=MIN_CUSTOMERS,
    min_history_days=MIN_HISTORY_DAYS,
    label_factor=None,
):
    """The models of each company as of ``as_of``: the first half of
    :func:`predict`, fitted on the transactions given (a sample of the
    customers, or all of them with at most ``sample`` per company picked by
    :func:`sample_mask`). Windows and choice as described in :func:`predict`.

    :param label_factor: None (fixed mode): BG/NBD or the rhythm model, as
        described in :func:`predict`. A number, or ``{company_id: number}``
        (calibrated mode: the judgement's ``label_factor``, see
        engine.judgement): the combined model, see :func:`_fit_combined`.
    :return: one row per company (:data:`MODEL_COLUMNS`): what
        :func:`predict` reports, and all :func:`score` needs, the
        ``horizon_days`` and ``min_history_days`` it was fitted for and the
        rhythm model (``rhythm_mean``, ``rhythm_scale``, ``rhythm_coef``:
        lists over :data:`RHYTHM_FEATURES`, or :data:`COMBINED_FEATURES` for
        the combined model, the coefficients with the intercept first; None
        unless one of them is kept), and the combined model's
        ``label_factor``. :func:`model_records` turns it into JSON-ready
        dicts.
    """
    as_of = pd.Timestamp(as_of).normalize()
    horizon = int(horizon_days)
    if label_factor is not None:
        return _fit_combined(
            transactions,
            as_of,
            settings,
            horizon,
            sample,
            seed,
            min_customers,
            label_factor,
        )
    customers, table, sampled_tx, picked = _history_tables(
        transactions, as_of, sample, seed
    )
    if customers is None:
        return _empty(MODEL_COLUMNS)
    count, end = len(customers), _day_number(as_of)
    # Only the sample is looked at in the past: the back-test and the training.
    past = {key: values[picked[table["customer"]]] for key, values in table.items()}
    history = {
        "now": _summary(table, count, end),
        "cut": _summary(past, count, end - horizon),
        "train": _summary(past, count, end - 2 * horizon),
    }
    ready = {key: _ready(summary, min_history_days) for key, summary in history.items()}
    context = dict(
        history=history,
        returned={
            "cut": _visited(past, count, end - horizon, end),
            "train": _visited(past, count, end - 2 * horizon, end - horizon),
        },
        ready=ready,
        features=_sample_features(
            sampled_tx, customers, settings, as_of, horizon, ready
        ),
        horizon=horizon,
        min_customers=min_customers,
    )
    companies = customers["company_id"].to_numpy()
    rows = []
    for company in np.unique(companies):
        member = companies == company
        fit = _fit_company(company, member, member & picked, context)
        fit.update(horizon_days=horizon, min_history_days=int(min_history_days))
        rhythm = fit.get("rhythm_fit")
        for key in ("mean", "scale", "coef"):
            fit[f"rhythm_{key}"] = None if rhythm is None else getattr(rhythm, key)
        rows.append(fit)
    return _models_table(rows)


def _fit_combined(
    transactions, as_of, settings, horizon, sample, seed, min_customers, factor
):
    """The combined model of each company: a logistic regression over
    :data:`COMBINED_FEATURES` (:meth:`PastDays.train`), learnt on the
    sampled customers as of as_of - H, - 2H ... (:data:`TRAINING_HORIZONS`
    days), each labelled by a
    visit within their window (:func:`return_windows` with the company's
    ``factor``) where it ends by as_of. Every customer with a visit gets a
    chance (no minimum history: a new customer who does not come back is
    told like any other). BG/NBD and Gamma-Gamma are fitted on the sample
    up to as_of for the features and the value. A company whose combined
    model cannot be learnt (too few customers or outcomes) keeps BG/NBD."""
    past = PastDays.of(transactions, as_of, settings, horizon, sample, seed)
    if past is None:
        return _empty(MODEL_COLUMNS)
    customers, picked = past.customers, past.picked
    summary = _summary(past.whole, len(customers), _day_number(as_of))
    ready = _ready(summary, 0)
    companies = customers["company_id"].to_numpy()
    rows = []
    for company in np.unique(companies):
        member = companies == company
        fit = {
            "company_id": int(company),
            "model": None,
            "customers": int((member & ready).sum()),
            "fitted_on": 0,
            "backtest_customers": 0,
            "bgnbd_auc": float("nan"),
            "rhythm_auc": float("nan"),
            "horizon_days": horizon,
            "min_history_days": MIN_HISTORY_DAYS,
        }
        rows.append(fit)
        if fit["customers"] < min_customers:
            fit["no_prediction"] = "too_few_customers"
            continue
        final = member & picked & ready
        # The fit of the combined model's features: the sample up to as_of.
        bgnbd = past.bgnbd(company, as_of)
        if bgnbd is None:
            fit["no_prediction"] = "no_fit"
            continue
        fit.update(bgnbd._asdict(), model="bgnbd", fitted_on=int(final.sum()))
        mine = summary[final]
        repeat = (mine["frequency"] > 0) & (mine["monetary_value"] > 0)
        if repeat.sum() >= MIN_REPEAT_CUSTOMERS:
            ticket = fit_gamma_gamma(mine["frequency"], mine["monetary_value"])
            if ticket is not None:
                fit.update(ticket._asdict())
        k = float(factor.get(int(company), 0.0) if isinstance(factor, dict) else factor)
        model = past.train(company, as_of, k, min_customers)
        if model is not None:
            rhythm = model[0]
            fit.update(
                model="combined",
                min_history_days=0,
                label_factor=k,
                rhythm_mean=rhythm.mean,
                rhythm_scale=rhythm.scale,
                rhythm_coef=rhythm.coef,
            )
    return _models_table(rows)


def _models_table(fits):
    """The :data:`MODEL_COLUMNS` table of fits (dicts), one row each."""
    return pd.DataFrame(
        {
            key: pd.Series(
                [_plain(fit.get(key)) for fit in fits],
                dtype=object if key in _OBJECT_MODEL_COLUMNS else None,
            )
            for key in MODEL_COLUMNS
        }
    )


def _plain(value):
    """Python numbers, None for NaN, lists for arrays: JSON-ready."""
    if isinstance(value, np.ndarray | list | tuple):
        return [float(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    return value


def model_records(models):
    """The rows of a :func:`fit_models` table as dicts of plain Python
    values (NaN as None), ready for JSON; :func:`score` takes them back."""
    records = []
    for row in models.to_dict("records"):
        records.append(
            {
                key: None
                if isinstance(value, float) and np.isnan(value)
                else _plain(value)
                for key, value in row.items()
            }
        )
    return records


def _fits_from(models):
    """{company: fit dict} as :func:`_fit_company` makes them, from a
    :func:`fit_models` table or its :func:`model_records`."""
    if not isinstance(models, pd.DataFrame):
        models = pd.DataFrame(list(models), columns=MODEL_COLUMNS)
    fits = {}
    for row in model_records(models):
        fit = dict(row)
        fit["no_prediction"] = row.get("no_prediction") or None
        fit["model"] = row.get("model") or None
        if not fit["no_prediction"]:
            fit["bgnbd_fit"] = BgNbd(*(float(row[key]) for key in BgNbd._fields))
            if all(row.get(key) is not None for key in GammaGamma._fields):
                fit["gamma_gamma_fit"] = GammaGamma(
                    *(float(row[key]) for key in GammaGamma._fields)
                )
            if fit["model"] in ("rhythm", "combined"):
                fit["rhythm_fit"] = Rhythm(
                    *(
                        np.asarray(row[f"rhythm_{key}"], dtype="float64")
                        for key in Rhythm._fields
                    )
                )
        fits[int(row["company_id"])] = fit
    return fits


def score(transactions, as_of, models, settings=None, horizon_days=None, metrics=None):
    """The customers' rows of :func:`predict` from models fitted before
    (:func:`fit_models`, or its :func:`model_records`): every customer with
    a transaction on or before ``as_of``, scored alone, so the customers may
    come in chunks. The horizon and the history needed are the models' own;
    ``horizon_days``, if given, must be the models' (the rhythm model knows
    no other). A company without a model row gets no number
    (``too_few_customers``).

    :param metrics: optional :func:`compute_metrics` rows of the same
        transactions, as_of and settings (or the stored rows with their
        ``days_since_last`` as of ``as_of``): the rhythm model's features.
    :return: a table of :data:`PREDICTION_COLUMNS`, as in :func:`predict`.
    """
    as_of = pd.Timestamp(as_of).normalize()
    fits = _fits_from(models)
    if horizon_days is not None and any(
        int(fit["horizon_days"]) != int(horizon_days) for fit in fits.values()
    ):
        raise ValueError("The models were fitted for another horizon.")
    customers, table, _sampled, _picked = _history_tables(transactions, as_of, None, 0)
    if customers is None:
        return _empty(PREDICTION_COLUMNS)
    summary = _summary(table, len(customers), _day_number(as_of))
    companies = customers["company_id"].to_numpy()
    least = pd.Series(companies).map(
        {company: fit["min_history_days"] for company, fit in fits.items()}
    )
    ready = _ready(summary, least.fillna(MIN_HISTORY_DAYS).to_numpy())
    unfitted = {
        int(company): {"model": None, "no_prediction": "too_few_customers"}
        for company in np.unique(companies)
        if int(company) not in fits
    }
    result = _score(customers, fits | unfitted, summary, ready)
    rhythm = [
        company
        for company, fit in fits.items()
        if fit["model"] in ("rhythm", "combined")
    ]
    if rhythm:
        if metrics is None:
            # The features do not depend on the at-risk thresholds.
            metrics = compute_metrics(
                transactions[transactions["company_id"].isin(rhythm)],
                as_of,
                without_group_thresholds(settings),
            )
        _score_rhythm(result, customers, fits, rhythm, metrics, as_of, summary)
    _value(result, customers, settings)
    return result[PREDICTION_COLUMNS]


def predict(
    transactions,
    as_of,
    settings=None,
    horizon_days=HORIZON_DAYS,
    sample=SAMPLE,
    seed=0,
    min_customers=MIN_CUSTOMERS,
    min_history_days=MIN_HISTORY_DAYS,
    metrics=None,
    label_factor=None,
):
    """Chance of return and expected value of each customer as of ``as_of``:
    :func:`fit_models` then :func:`score` on the same transactions.

    Only transactions on or before ``as_of`` are read. Windows, with H =
    ``horizon_days`` and cut = as_of - H:

    * back-test: BG/NBD fitted on the history up to cut; the rhythm model
      trained on features as of cut - H labelled by visits in (cut - H, cut]
      and applied to the features as of cut. Both are scored by their AUC on
      the visits in (cut, as_of] of the customers with a visit in the
      look-back window and enough history on day cut. The better AUC wins
      (BG/NBD on a tie or when the rhythm model cannot be back-tested);
    * scores: BG/NBD and Gamma-Gamma fitted on the history up to as_of; the
      rhythm model trained on features as of cut labelled by visits in
      (cut, as_of], applied to the features as of as_of.

    Fits use at most ``sample`` customers per company (:func:`sample_mask`);
    every customer is scored.

    :param settings: a :class:`RetentionSettings` or ``{company_id: settings}``
        (look-back window and trend period of the features; currency decimals).
    :param metrics: optional :func:`compute_metrics` rows of the same
        transactions, as_of and settings, so that they are not computed again
        for the rhythm model.
    :param label_factor: see :func:`fit_models` (None: today's choice
        between BG/NBD and the rhythm model).
    :return: :class:`Prediction`. ``customers`` has one row per customer with
        a transaction on or before ``as_of``:

        * ``return_probability``: chance in percent (0-100) of at least one
          visit in (as_of, as_of + H], from the company's model;
        * ``expected_visits``: visits expected in the next 365 days (BG/NBD);
        * ``expected_ticket``: expected amount of a future visit (Gamma-Gamma);
        * ``predicted_revenue``: expected_visits x expected_ticket, the revenue
          expected in the next 12 months;
        * ``revenue_at_risk``: what the business stands to lose if the
          customer does not come back: the 12-month revenue expected of the
          customer if still a customer (BG/NBD visits given alive x ticket)
          times the chance of no visit in the next H days;
        * ``model``: "bgnbd" or "rhythm", the model behind the probability;
        * ``no_prediction``: why the probability is NaN (:data:`NO_PREDICTION`),
          None when there is one.

        Amounts are rounded to the company currency. ``models`` has one row
        per company (:func:`fit_models`): the model used, the AUCs that chose
        it (``bgnbd_auc``, ``rhythm_auc``) on ``backtest_customers``
        customers, ``customers`` with enough history, ``fitted_on``
        (customers of the final fits), the BG/NBD (alpha in days) and
        Gamma-Gamma parameters, and ``no_prediction`` when the company has
        no model.
    """
    models = fit_models(
        transactions,
        as_of,
        settings,
        horizon_days=horizon_days,
        sample=sample,
        seed=seed,
        min_customers=min_customers,
        min_history_days=min_history_days,
        label_factor=label_factor,
    )
    if models.empty:
        return Prediction(_empty(PREDICTION_COLUMNS), models)
    customers = score(transactions, as_of, models, settings, metrics=metrics)
    return Prediction(customers, models)


def _history_tables(transactions, as_of, sample, seed):
    """Customers (numbered 0..n-1 in company, partner order), their
    (customer, day) rows as arrays, the transactions of the sampled
    customers and whether each customer is sampled; (None, ...) without a
    transaction. The full cleaned copy of the transactions lives only here."""
    tx = _clean(transactions, as_of)
    if tx.empty:
        return None, None, None, None
    customers, days = _customer_days(tx)
    customers = customers.reset_index(drop=True)
    picked = sample_mask(customers["company_id"].to_numpy(), sample, seed)
    sampled_tx = tx[picked[tx["customer"].to_numpy()]]
    return customers, _day_table(days), sampled_tx, picked


def _empty(columns):
    return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})


def _ready(summary, min_history_days):
    """Customers with a visit and a first visit ``min_history_days`` ago or more."""
    return (summary["visits"].to_numpy() > 0) & (
        summary["T"].to_numpy() >= min_history_days
    )


def _sample_features(sampled_tx, customers, settings, as_of, horizon, ready):
    """Rhythm features of the sampled customers as of cut - H and cut, with
    whether each was in the look-back window on day cut: {key: (codes,
    features)} and "window" (bool per customer)."""
    found = {}
    window = np.zeros(len(customers), dtype=bool)
    for key, day in (("train", 2 * horizon), ("cut", horizon)):
        then = as_of - pd.Timedelta(days=day)
        # The features do not depend on the at-risk thresholds.
        rows = _with_codes(
            compute_metrics(sampled_tx, then, without_group_thresholds(settings)),
            customers,
        )
        if key == "cut":
            window[rows["customer"].to_numpy()] = rows["visit_count"].to_numpy() > 0
        keep = ready[key][rows["customer"].to_numpy()]
        rows = rows[keep]
        found[key] = (
            rows["customer"].to_numpy(),
            rhythm_features(rows, then, horizon).to_numpy(),
        )
    found["window"] = window
    return found


def _with_codes(metrics, customers):
    """Metrics rows with the customer number of :func:`_customer_days`."""
    keys = customers[["company_id", "partner_id"]].assign(
        customer=np.arange(len(customers))
    )
    return metrics.merge(keys, on=["company_id", "partner_id"], how="inner")


def _fit_company(company, member, sampled, context):
    """Back-test both models on one company's sample, keep the better, fit
    the kept one for the scores. A dict of the :data:`MODEL_COLUMNS` and the
    fitted models."""
    history, ready = context["history"], context["ready"]
    fit = {
        "company_id": int(company),
        "model": None,
        "customers": int((member & ready["now"]).sum()),
        "fitted_on": 0,
        "backtest_customers": 0,
    }
    if fit["customers"] < context["min_customers"]:
        fit["no_prediction"] = "too_few_customers"
        return fit
    final = sampled & ready["now"]
    bgnbd = _fit_bgnbd_on(history["now"], final)
    if bgnbd is None:
        fit["no_prediction"] = "no_fit"
        return fit
    fit.update(bgnbd._asdict(), bgnbd_fit=bgnbd, fitted_on=int(final.sum()))
    mine = history["now"][final]
    repeat = (mine["frequency"] > 0) & (mine["monetary_value"] > 0)
    ticket = None
    if repeat.sum() >= MIN_REPEAT_CUSTOMERS:
        ticket = fit_gamma_gamma(mine["frequency"], mine["monetary_value"])
    if ticket is not None:
        fit.update(ticket._asdict(), gamma_gamma_fit=ticket)
    _choose_model(fit, sampled, context)
    return fit


def _fit_bgnbd_on(summary, rows):
    """BG/NBD in days on the summary rows selected by the boolean ``rows``."""
    chosen = summary[rows]
    return fit_bgnbd(chosen["frequency"], chosen["recency"], chosen["T"])


def _choose_model(fit, sampled, context):
    """Set ``model``, the AUCs and the fitted rhythm model (when kept)."""
    history, ready = context["history"], context["ready"]
    returned, features = context["returned"], context["features"]
    horizon, min_customers = context["horizon"], context["min_customers"]
    judged = sampled & ready["cut"] & features["window"]
    fit["backtest_customers"] = int(judged.sum())
    fit["bgnbd_auc"] = fit["rhythm_auc"] = float("nan")
    fit["model"] = "bgnbd"
    if fit["backtest_customers"] < min_customers or not _both_outcomes(
        returned["cut"][judged]
    ):
        return
    earlier = _fit_bgnbd_on(history["cut"], sampled & ready["cut"])
    if earlier is not None:
        then = history["cut"][judged]
        chance = bgnbd_return_probability(
            earlier, horizon, then["frequency"], then["recency"], then["T"]
        )
        fit["bgnbd_auc"] = auc(returned["cut"][judged], chance)
    trained = _fit_rhythm_on(features["train"], returned["train"], sampled)
    if trained is not None:
        codes, values = features["cut"]
        scored = judged[codes]
        chance = rhythm_probability(trained, values[scored])
        fit["rhythm_auc"] = auc(returned["cut"][codes[scored]], chance)
    if fit["rhythm_auc"] > fit["bgnbd_auc"] or (
        np.isnan(fit["bgnbd_auc"]) and np.isfinite(fit["rhythm_auc"])
    ):
        final = _fit_rhythm_on(features["cut"], returned["cut"], sampled)
        if final is not None:
            fit.update(model="rhythm", rhythm_fit=final)


def _both_outcomes(returned):
    came = int(np.sum(returned))
    return min(came, len(returned) - came) >= MIN_OUTCOME


def _fit_rhythm_on(coded_features, returned, sampled):
    """The rhythm model on the sampled customers among (codes, features), or
    None with too few of either outcome."""
    codes, values = coded_features
    mine = sampled[codes]
    labels = returned[codes[mine]]
    if not _both_outcomes(labels):
        return None
    return fit_rhythm(values[mine], labels)


def _score(customers, fits, summary, ready):
    """The prediction rows with BG/NBD figures (probability, visits and
    ticket; value columns are set by :func:`_value`), each company's over
    its own horizon."""
    count = len(customers)
    result = customers[["company_id", "partner_id"]].copy()
    for column in ("return_probability", "expected_visits", "expected_ticket"):
        result[column] = np.nan
    result["visits_if_alive"] = np.nan
    model = np.full(count, None, dtype=object)
    reason = np.full(count, None, dtype=object)
    reason[summary["visits"].to_numpy() == 0] = "no_visit"
    reason[(summary["visits"].to_numpy() > 0) & ~ready] = "too_little_history"
    companies = customers["company_id"].to_numpy()
    for company, fit in fits.items():
        rows = (companies == company) & ready
        if fit.get("no_prediction"):
            reason[rows] = fit["no_prediction"]
            continue
        model[rows] = fit["model"]
        mine = summary[rows]
        x, tx_, T = mine["frequency"], mine["recency"], mine["T"]
        params = fit["bgnbd_fit"]
        result.loc[rows, "return_probability"] = 100.0 * bgnbd_return_probability(
            params, fit["horizon_days"], x, tx_, T
        )
        result.loc[rows, "expected_visits"] = bgnbd_expected_visits(
            params, DAYS_PER_YEAR, x, tx_, T
        )
        result.loc[rows, "visits_if_alive"] = _visits_if_alive(
            params, DAYS_PER_YEAR, x, tx_, T
        )
        if "gamma_gamma_fit" in fit:
            result.loc[rows, "expected_ticket"] = gamma_gamma_expected_ticket(
                fit["gamma_gamma_fit"], x, mine["monetary_value"]
            )
    result["model"] = pd.Series(model, index=result.index, dtype=object)
    result["no_prediction"] = pd.Series(reason, index=result.index, dtype=object)
    return result


def _score_rhythm(result, customers, fits, companies, metrics, as_of, summary):
    """Replace the probability of the customers of ``companies`` by the
    rhythm or combined model's, from the features of their ``metrics`` rows
    (and for the combined model their BG/NBD ``summary`` rows)."""
    rows = _with_codes(metrics[metrics["company_id"].isin(companies)], customers)
    codes = rows["customer"].to_numpy()
    scored = result["model"].isin(["rhythm", "combined"]).to_numpy()[codes]
    for company in companies:
        mine = scored & (rows["company_id"].to_numpy() == company)
        fit = fits[company]
        if fit["model"] == "combined":
            values = combined_features(
                rows[mine],
                summary.iloc[codes[mine]],
                fit["bgnbd_fit"],
                as_of,
                fit["horizon_days"],
            )
        else:
            values = rhythm_features(rows[mine], as_of, fit["horizon_days"]).to_numpy()
        chance = rhythm_probability(fit["rhythm_fit"], values)
        result.loc[codes[mine], "return_probability"] = 100.0 * chance


def _value(result, customers, settings):
    """predicted_revenue and revenue_at_risk, rounded to the currency."""
    per_company = settings_by_company(settings, customers["company_id"].unique())
    decimals = customers["company_id"].map(
        {company: value.currency_decimals for company, value in per_company.items()}
    )
    ticket = result["expected_ticket"]
    gone = 1.0 - result["return_probability"] / 100.0
    result["predicted_revenue"] = round_money(
        result["expected_visits"] * ticket, decimals
    )
    result["revenue_at_risk"] = round_money(
        result["visits_if_alive"] * ticket * gone, decimals
    )
    result["expected_ticket"] = round_money(ticket, decimals)
