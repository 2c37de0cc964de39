"""One plain sentence per customer that a sales rep understands.

Templates are marked with ``_`` for Odoo's translation export; ``gettext``
translates each template once, then whole columns are filled in.
"""

# The engine has no env: `_` only marks templates for Odoo's translation
# export; the Odoo layer translates them (res.company, res.partner).
# pylint: disable=prefer-env-translation

import numpy as np
import pandas as pd

from .settings import _, settings_by_company

LOST = _(
    "Last order %(days)s days ago; no order for more than %(lost)s days, the customer "
    "counts as lost."
)
AT_RISK_OVERDUE = _(
    "Last order %(days)s days ago; usually every %(cadence)s days; %(ratio)sx overdue."
)
AT_RISK_QUIET = _(
    "Last order %(days)s days ago; no regular rhythm yet and quiet for more than "
    "%(limit)s days."
)
NEW = _("First order %(first)s days ago; %(visits)s visit(s) so far.")
ACTIVE_RHYTHM = _(
    "Last order %(days)s days ago; usually every %(cadence)s days; next order expected "
    "around %(next)s."
)
ACTIVE_QUIET = _("Last order %(days)s days ago.")
TREND_UP = _(" Spending up %(pct)s%% vs the previous %(period)s.")
TREND_DOWN = _(" Spending down %(pct)s%% vs the previous %(period)s.")
# Added to the sentence of a customer at risk or lost with a chance of return
# (engine/predict.py), before its final full stop.
CHANCE = _("; %(probability)s %% chance of a visit in the next %(days)s days.")
# Calibrated mode (engine/judgement.py): the chance of return decided the
# status; the sentence says so first, then the evidence behind the chance.
JUDGED_AT_RISK_RHYTHM = _(
    "Chance of return %(probability)s %% within %(window)s days, below the "
    "%(threshold)s %% at which this business's own past says customers are lost; "
    "last order %(days)s days ago, usually every %(cadence)s days."
)
JUDGED_AT_RISK_QUIET = _(
    "Chance of return %(probability)s %% within %(window)s days, below the "
    "%(threshold)s %% at which this business's own past says customers are lost; "
    "last order %(days)s days ago, %(visits)s visit(s) so far."
)
JUDGED_LOST = _(
    "Chance of return %(probability)s %% within %(window)s days, below the "
    "%(threshold)s %% at which this business's own past says customers are lost; "
    "no order for %(days)s days, more than %(lost)s: the customer counts as lost."
)
JUDGED_ACTIVE_RHYTHM = _(
    "Chance of return %(probability)s %% within %(window)s days, at or above the "
    "%(threshold)s %% below which this business's own past says customers are lost; "
    "last order %(days)s days ago, usually every %(cadence)s days; next order "
    "expected around %(next)s."
)
JUDGED_ACTIVE_QUIET = _(
    "Chance of return %(probability)s %% within %(window)s days, at or above the "
    "%(threshold)s %% below which this business's own past says customers are lost; "
    "last order %(days)s days ago, %(visits)s visit(s) so far."
)
JUDGED_NEW = _(
    "Chance of return %(probability)s %% within %(window)s days, at or above the "
    "%(threshold)s %% below which this business's own past says customers are lost; "
    "first order %(first)s days ago, %(visits)s visit(s) so far."
)
PERIOD_NAMES = {"month": _("month"), "quarter": _("quarter"), "year": _("year")}
NOTABLE_TREND = 20.0


def _chance_text(values):
    """A chance of return as it is shown everywhere (whole percent, rounded
    down: :func:`judgement.shown_chance`), so that the sentence never puts
    a customer at risk at a chance shown at the threshold."""
    return np.floor(values.astype("float64")).map(
        lambda v: "" if pd.isna(v) else str(int(v))
    )


def _number(values, decimals=0):
    """Half up, like the next expected order (numpy would round 30.5 to 30)."""
    scale = 10.0**decimals
    rounded = np.floor(values.astype("float64") * scale + 0.5) / scale
    if decimals == 0:
        return rounded.map(lambda v: "" if pd.isna(v) else str(int(v)))
    return rounded.map(lambda v: "" if pd.isna(v) else f"{v:.{decimals}f}")


def _fill(template, columns):
    """``template % {name: value}`` for every row, on whole columns."""
    rows = zip(*(column.to_numpy() for column in columns.values()), strict=False)
    names = list(columns)
    return [template % dict(zip(names, row, strict=False)) for row in rows]


def render_reasons(metrics, settings=None, gettext=None, horizon_days=None):
    """The reason sentence of each metrics row (None without any visit).

    Rows with a ``return_probability`` (percent, :func:`predict`) of a
    customer at risk or lost say it too, for the next ``horizon_days`` (the
    days the chance was computed for: a number, or one per company as a
    dict); without a probability, no number.

    Rows of :func:`judgement.judge` whose chance decided the status
    (``decided_by`` "chance") say which evidence decided: the chance within
    their ``return_days``, against the company's ``chance_threshold``, then
    the last order and the usual interval (or the first order of a new
    customer, or the lost days); ``horizon_days`` is not needed for them."""
    translate = gettext or (lambda template: template)
    result = pd.Series(None, index=metrics.index, dtype=object)
    if metrics.empty:
        return result
    per_company = settings_by_company(settings, metrics["company_id"].unique())
    lost_days = metrics["company_id"].map(
        {c: s.lost_days for c, s in per_company.items()}
    )
    period = metrics["company_id"].map(
        {c: s.trend_period for c, s in per_company.items()}
    )

    days = _number(metrics["days_since_last"])
    cadence = _number(metrics["cadence_days"], 0)
    status = metrics["status"]
    has_cadence = metrics["cadence_days"].notna()
    span = (metrics["last_order_date"] - metrics["first_order_date"]).dt.days
    first_days = _number(metrics["days_since_last"] + span)
    cases = [
        (status == "lost", LOST, {"days": days, "lost": lost_days.astype(str)}),
        (
            (status == "at_risk") & has_cadence,
            AT_RISK_OVERDUE,
            {
                "days": days,
                "cadence": cadence,
                "ratio": _number(metrics["overdue_ratio"], 1),
            },
        ),
        (
            (status == "at_risk") & ~has_cadence,
            AT_RISK_QUIET,
            {"days": days, "limit": _number(metrics["at_risk_threshold"])},
        ),
        (
            status == "new",
            NEW,
            {"first": first_days, "visits": metrics["lifetime_visits"].astype(str)},
        ),
        (
            (status == "active") & has_cadence,
            ACTIVE_RHYTHM,
            {
                "days": days,
                "cadence": cadence,
                "next": metrics["next_order_date"].dt.strftime("%Y-%m-%d"),
            },
        ),
        ((status == "active") & ~has_cadence, ACTIVE_QUIET, {"days": days}),
    ]
    judged = _judged(metrics)
    if judged.any():
        chance = {
            "probability": _chance_text(metrics["return_probability"]),
            "window": _number(metrics["return_days"]),
            "threshold": _number(metrics["chance_threshold"]),
        }
        visits = metrics["lifetime_visits"].astype(str)
        cases = [
            (mask & ~judged, template, columns) for mask, template, columns in cases
        ]
        cases += [
            (
                judged & (status == "lost"),
                JUDGED_LOST,
                chance | {"days": days, "lost": lost_days.astype(str)},
            ),
            (
                judged & (status == "at_risk") & has_cadence,
                JUDGED_AT_RISK_RHYTHM,
                chance | {"days": days, "cadence": cadence},
            ),
            (
                judged & (status == "at_risk") & ~has_cadence,
                JUDGED_AT_RISK_QUIET,
                chance | {"days": days, "visits": visits},
            ),
            (
                judged & (status == "new"),
                JUDGED_NEW,
                chance | {"first": first_days, "visits": visits},
            ),
            (
                judged & (status == "active") & has_cadence,
                JUDGED_ACTIVE_RHYTHM,
                chance
                | {
                    "days": days,
                    "cadence": cadence,
                    "next": metrics["next_order_date"].dt.strftime("%Y-%m-%d"),
                },
            ),
            (
                judged & (status == "active") & ~has_cadence,
                JUDGED_ACTIVE_QUIET,
                chance | {"days": days, "visits": visits},
            ),
        ]
    for mask, template, columns in cases:
        mask = mask.fillna(False).to_numpy(dtype=bool)
        if mask.any():
            result[mask] = _fill(
                translate(template), {k: v[mask] for k, v in columns.items()}
            )

    _add_chance(result, metrics, horizon_days, translate, ~judged)
    trend = metrics["trend_pct"]
    for mask, template in (
        (trend >= NOTABLE_TREND, TREND_UP),
        (trend <= -NOTABLE_TREND, TREND_DOWN),
    ):
        mask = (mask & result.notna()).to_numpy(dtype=bool)
        if mask.any():
            names = period[mask].map(lambda key: translate(PERIOD_NAMES.get(key, key)))
            suffix = _fill(
                translate(template),
                {"pct": _number(trend[mask].abs()), "period": names},
            )
            result[mask] = result[mask] + pd.Series(suffix, index=result.index[mask])
    return result


def _judged(metrics):
    """Whether the chance decided each row's status (calibrated mode)."""
    if "decided_by" not in metrics:
        return pd.Series(False, index=metrics.index)
    return (metrics["decided_by"] == "chance").fillna(False)


def _add_chance(result, metrics, horizon_days, translate, rows):
    """Append :data:`CHANCE` to the sentences of the customers at risk or
    lost with a probability, among ``rows`` (the cadence rule's)."""
    if "return_probability" not in metrics:
        return
    if horizon_days is None:
        days = pd.Series(np.nan, index=metrics.index)
    elif isinstance(horizon_days, dict):
        days = metrics["company_id"].map(horizon_days)
    else:
        days = pd.Series(horizon_days, index=metrics.index)
    if "return_days" in metrics:
        # judge()'s rows: each chance is for the customer's own window,
        # where the chance decided; the horizon elsewhere.
        own = metrics["return_days"]
        days = own.where(own.notna(), days)
    mask = (
        metrics["status"].isin(["at_risk", "lost"])
        & metrics["return_probability"].notna()
        & days.notna()
        & result.notna()
        & rows
    ).to_numpy(dtype=bool)
    if not mask.any():
        return
    suffix = _fill(
        translate(CHANCE),
        {
            "probability": _chance_text(metrics["return_probability"][mask]),
            "days": _number(days[mask]),
        },
    )
    # The chance continues the sentence: its full stop moves to the end.
    result[mask] = result[mask].str.rstrip(".") + pd.Series(
        suffix, index=result.index[mask]
    )
