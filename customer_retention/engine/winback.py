"""The rules of a win-back SMS campaign: its guardrails, the control group
kept out of it and the win-back figures measured after it. Pure Python and
pandas, no Odoo: the Odoo layer reads the rows and stores the figures.
"""

# The engine has no env: `_` only marks templates for Odoo's translation
# export; the Odoo layer translates them (res.company, res.partner).
# pylint: disable=prefer-env-translation

import hashlib
from collections import Counter
from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from .settings import _, check_range, is_number

CONTACTED = "contacted"
# The win-back text for each status: customers still active get the at-risk one.
TEMPLATE_BY_STATUS = {
    "at_risk": "at_risk",
    "active": "at_risk",
    "lost": "lost",
    "new": "new",
}
HOLDOUT = "holdout"
# The largest value each guardrail accepts, for the checks below and for the
# Odoo layer to show.
MAX_CAP_DAYS = 3650
MAX_WINBACK_DAYS = 3650
MAX_BATCH = 1_000_000
MAX_HOLDOUT_PERCENT = 50
CAMPAIGN_MAXIMA = {
    "cap_days": MAX_CAP_DAYS,
    "max_batch": MAX_BATCH,
    "holdout_percent": MAX_HOLDOUT_PERCENT,
    "winback_days": MAX_WINBACK_DAYS,
}


@dataclass(frozen=True)
class CampaignSettings:
    """A company's guardrails for win-back SMS."""

    cap_days: int = 30  # no second SMS to the same customer within; 0 = no cap
    quiet_start: float = 21.0  # hour of the day, company time zone
    quiet_end: float = 9.0  # equal to quiet_start: no quiet hours
    max_batch: int = 1000  # SMS per campaign; 0 = no limit
    # of the eligible customers, kept out as a control group
    holdout_percent: float = 10.0
    winback_days: int = 30  # measurement window after the SMS

    @classmethod
    def names(cls):
        return [f.name for f in fields(cls)]

    def problems(self):
        """What is wrong, as ``(template, params)`` pairs; empty when valid."""
        found = []

        def within(name, minimum, too_low, too_high):
            check_range(
                found,
                getattr(self, name),
                minimum,
                CAMPAIGN_MAXIMA[name],
                too_low,
                too_high,
            )

        within(
            "cap_days",
            0,
            _(
                "The SMS frequency cap cannot be negative (got %(value)s): enter a "
                "number of "
                "days, or 0 to allow texting the same customer again at any time."
            ),
            _(
                "The SMS frequency cap cannot be longer than %(maximum)s days (got "
                "%(value)s): "
                "enter fewer days, or 0 to allow texting the same customer again at "
                "any time."
            ),
        )
        for value in (self.quiet_start, self.quiet_end):
            if not is_number(value) or not 0 <= value <= 24:
                found.append(
                    (
                        _(
                            "Quiet hours are hours of the day between 00:00 and 24:00 "
                            "(got %(value)s)."
                        ),
                        {"value": value},
                    )
                )
        within(
            "max_batch",
            0,
            _(
                "The maximum number of SMS per campaign cannot be negative (got "
                "%(value)s): "
                "enter a number, or 0 for no limit."
            ),
            _(
                "The maximum number of SMS per campaign cannot be more than "
                "%(maximum)s "
                "(got %(value)s): enter a smaller number, or 0 for no limit."
            ),
        )
        holdout = self.holdout_percent
        if not is_number(holdout) or not 0 <= holdout <= MAX_HOLDOUT_PERCENT:
            found.append(
                (
                    _(
                        "The control group must be between 0%% and %(maximum)s%% of "
                        "the customers "
                        "(got %(value)s%%): above that too few customers are texted to "
                        "measure anything."
                    ),
                    {"value": holdout, "maximum": MAX_HOLDOUT_PERCENT},
                )
            )
        within(
            "winback_days",
            1,
            _(
                "The win-back measurement window must be at least 1 day (got "
                "%(value)s)."
            ),
            _(
                "The win-back measurement window cannot be longer than %(maximum)s "
                "days "
                "(got %(value)s): enter fewer days."
            ),
        )
        return found


def _hour(value):
    """(hour, minute) of a float hour of the day: 9.5 is 09:30."""
    minutes = int(round(value * 60))
    return (minutes // 60) % 24, minutes % 60


def in_quiet_hours(local, start, end):
    """Whether the local datetime ``local`` falls inside the quiet hours
    [start, end) (hours of the day, the window may wrap past midnight)."""
    if start % 24 == end % 24:
        return False
    now = local.hour + local.minute / 60 + local.second / 3600
    if start < end:
        return start <= now < end
    return now >= start or now < end


def quiet_hours_end(local, start, end):
    """The local datetime at which the quiet hours containing ``local`` end
    (``local`` itself when it is outside them)."""
    if not in_quiet_hours(local, start, end):
        return local
    hours, minutes = _hour(end)
    opening = local.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if opening <= local:
        opening += timedelta(days=1)
    return opening


def holdout_size(eligible, percent):
    """How many of ``eligible`` customers the control group takes: the
    percentage rounded half up, so 10% of 15 is 2 (1.5 rounded up)."""
    return int(
        (Decimal(eligible) * Decimal(str(percent or 0)) / 100).quantize(
            0, ROUND_HALF_UP
        )
    )


def _draw(seed, partner_id):
    digest = hashlib.sha256(f"{seed}:{partner_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def split_holdout(partner_ids, percent, seed):
    """The control group among ``partner_ids``: the ``holdout_size`` ids with
    the smallest hash of (seed, id). Random-like, yet the same seed and the
    same customers always give the same group, whatever their order."""
    ids = sorted(set(int(pid) for pid in partner_ids))
    size = holdout_size(len(ids), percent)
    if not size:
        return set()
    return set(sorted(ids, key=lambda pid: (_draw(seed, pid), pid))[:size])


def winback_figures(members, purchases):
    """Win-back of a campaign.

    :param members: DataFrame ``partner_id`` (the customer, a commercial
        partner) and ``group`` (CONTACTED or HOLDOUT); a customer may appear
        once per group.
    :param purchases: DataFrame ``partner_id``, ``amount``, ``is_visit``: the
        orders (visits) and credit notes of these customers inside the
        measurement window, amounts in the company currency.
    :return: ``(summary, per_customer)``: summary has for each group its
        size, the customers won back (at least one visit in the window), the
        win-back rate in percent and the revenue of the window (net of credit
        notes); plus ``uplift`` in percentage points (contacted rate minus
        control rate, None without a control group). ``per_customer`` has one
        row per member: ``partner_id``, ``group``, ``won_back``, ``revenue``
        and ``first_date`` (of the first visit in the window).
    """
    members = members[["partner_id", "group"]].drop_duplicates()
    if purchases is None or purchases.empty:
        purchases = pd.DataFrame(
            {"partner_id": [], "amount": [], "is_visit": [], "date": []}
        )
    purchases = purchases.assign(partner_id=purchases["partner_id"].astype("int64"))
    if "date" not in purchases:
        purchases = purchases.assign(date=pd.NaT)
    revenue = purchases.groupby("partner_id")["amount"].sum()
    visits = purchases[purchases["is_visit"].astype(bool)]
    first_visit = visits.groupby("partner_id")["date"].min()
    per_customer = members.assign(partner_id=members["partner_id"].astype("int64"))
    per_customer = per_customer.assign(
        won_back=per_customer["partner_id"].isin(visits["partner_id"]),
        revenue=per_customer["partner_id"].map(revenue).fillna(0.0).astype(float),
        first_date=per_customer["partner_id"].map(first_visit),
    )
    summary = {}
    for group in (CONTACTED, HOLDOUT):
        rows = per_customer[per_customer["group"] == group]
        size = len(rows)
        won = int(rows["won_back"].sum())
        summary[group] = {
            "customers": size,
            "won_back": won,
            "rate": (100.0 * won / size) if size else None,
            "revenue": float(rows["revenue"].sum()),
        }
    contacted_rate, holdout_rate = summary[CONTACTED]["rate"], summary[HOLDOUT]["rate"]
    summary["uplift"] = (
        contacted_rate - holdout_rate
        if contacted_rate is not None and holdout_rate is not None
        else None
    )
    return summary, per_customer


def measurement_end(sent_at, winback_days):
    """End of the measurement window of SMS queued at ``sent_at``."""
    return sent_at + timedelta(days=winback_days)


def is_measured(sent_at, winback_days, now):
    """The figures are final once the window is over."""
    return bool(sent_at) and now >= measurement_end(sent_at, winback_days)


def template_for(statuses):
    """The win-back text for a selection of customers: the one of their most
    common status (the first seen among equals), the at-risk text when none
    has a status yet."""
    counts = Counter(status for status in statuses if status in TEMPLATE_BY_STATUS)
    dominant = counts.most_common(1)[0][0] if counts else "at_risk"
    return TEMPLATE_BY_STATUS[dominant]
