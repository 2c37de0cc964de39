"""Thresholds of the retention rules and their validation.

Messages are English templates marked with ``_`` so that Odoo's translation
export finds them; the Odoo layer translates and formats them.
"""

# The engine has no env: `_` only marks templates for Odoo's translation
# export; the Odoo layer translates them (res.company, res.partner).
# pylint: disable=prefer-env-translation

import numbers
from dataclasses import dataclass, fields, replace


def _(message):
    """Mark a template for translation; the caller translates it later."""
    return message


# (key, label, days): the periods a sales trend compares.
TREND_PERIODS = (
    ("month", "Month", 30),
    ("quarter", "Quarter", 91),
    ("year", "Year", 365),
)
TREND_PERIOD_DAYS = {key: days for key, _label, days in TREND_PERIODS}
DAYS_PER_YEAR = 365

# The largest value each setting accepts, for the checks below and for the
# Odoo layer to show. 100 years of days is far beyond any order history yet
# keeps every date the engine derives inside pandas' calendar (1677-2262).
MAX_DAYS = 36500
MAX_AT_RISK_FACTOR = 100
# Visits are days with an order in the last 365 days.
MAX_FREQUENT_VISITS = DAYS_PER_YEAR
# Odoo stores a currency's rounding with 6 decimals at most.
MAX_CURRENCY_DECIMALS = 6
MAXIMA = {
    "lookback_days": MAX_DAYS,
    "new_days": MAX_DAYS,
    "at_risk_factor": MAX_AT_RISK_FACTOR,
    "min_at_risk_days": MAX_DAYS,
    "dormant_days": MAX_DAYS,
    "lost_days": MAX_DAYS,
    "frequent_visits": MAX_FREQUENT_VISITS,
    "currency_decimals": MAX_CURRENCY_DECIMALS,
}


def is_number(value):
    """A real number: not None, NaN or text (infinity is a number, too high)."""
    # NaN is the one number unequal to itself; math.isnan would overflow on a huge int.
    return isinstance(value, numbers.Real) and value == value


def check_range(found, value, minimum, maximum, too_low, too_high):
    """Append to ``found`` the problem of ``value`` outside [minimum, maximum]:
    ``too_low`` (params value, minimum) also for a value that is no number,
    ``too_high`` (params value, maximum). Return whether the value is fine."""
    if not is_number(value) or value < minimum:
        found.append((too_low, {"value": value, "minimum": minimum}))
        return False
    if value > maximum:
        found.append((too_high, {"value": value, "maximum": maximum}))
        return False
    return True


class SettingsError(ValueError):
    """Raised by :meth:`RetentionSettings.validate`; ``problems`` holds
    ``(template, params)`` pairs."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("; ".join(template % params for template, params in problems))


@dataclass(frozen=True)
class RetentionSettings:
    """Thresholds, in days unless stated otherwise."""

    lookback_days: int = 730  # 0 = whole history
    new_days: int = 90
    at_risk_factor: float = 1.5  # times the customer's usual interval
    min_at_risk_days: int = 30
    dormant_days: int = 180
    lost_days: int = 365
    trend_period: str = "quarter"  # key of TREND_PERIOD_DAYS
    frequent_visits: int = 4  # visits in the last 365 days
    category_share: float = 0.8  # share of revenue from one category
    currency_decimals: int = 2  # of the company currency; amounts are rounded to them
    # The peer groups with thresholds of their own, chosen by the calibration
    # (engine.backtest.calibrate_groups), as (group_key, at_risk_factor,
    # min_at_risk_days, dormant_days) tuples; the other groups use the
    # values above. Statuses then need the customers' peer groups.
    group_thresholds: tuple = ()

    @property
    def trend_days(self):
        return TREND_PERIOD_DAYS[self.trend_period]

    def problems(self):
        """What is wrong, as ``(template, params)`` pairs; empty when valid.

        Every value is checked against a minimum and a maximum (:data:`MAXIMA`):
        a value that is empty or no number is reported, never compared, so
        that nonsense is refused here instead of crashing a later recompute.
        """
        found = []

        def within(name, minimum, too_low, too_high):
            return check_range(
                found, getattr(self, name), minimum, MAXIMA[name], too_low, too_high
            )

        within(
            "lookback_days",
            0,
            _(
                "The look-back window cannot be negative (got %(value)s days): "
                "enter a number of days, or 0 to use the whole history."
            ),
            _(
                "The look-back window cannot be longer than %(maximum)s days (got "
                "%(value)s): "
                "enter a shorter window, or 0 to use the whole history."
            ),
        )
        within(
            "new_days",
            1,
            _(
                "The period during which a customer counts as new must be at least "
                "%(minimum)s day (got %(value)s)."
            ),
            _(
                "The period during which a customer counts as new cannot be longer "
                "than "
                "%(maximum)s days (got %(value)s): enter a shorter period."
            ),
        )
        min_at_risk_ok = within(
            "min_at_risk_days",
            1,
            _(
                "The minimum number of days before a customer can be at risk must be "
                "at "
                "least %(minimum)s (got %(value)s)."
            ),
            _(
                "The minimum number of days before a customer can be at risk cannot be "
                "more "
                "than %(maximum)s (got %(value)s): enter fewer days."
            ),
        )
        dormant_ok = within(
            "dormant_days",
            1,
            _(
                "The number of days after which a customer is dormant must be at least "
                "%(minimum)s (got %(value)s)."
            ),
            _(
                "The number of days after which a customer is dormant cannot be more "
                "than "
                "%(maximum)s (got %(value)s): enter fewer days."
            ),
        )
        lost_ok = within(
            "lost_days",
            1,
            _(
                "The number of days after which a customer counts as lost must be at "
                "least "
                "%(minimum)s (got %(value)s)."
            ),
            _(
                "The number of days after which a customer counts as lost cannot be "
                "more than "
                "%(maximum)s (got %(value)s): enter fewer days."
            ),
        )
        within(
            "frequent_visits",
            1,
            _(
                "The number of visits that makes a customer frequent must be at least "
                "%(minimum)s (got %(value)s)."
            ),
            _(
                "The number of visits that makes a customer frequent cannot be more "
                "than "
                "%(maximum)s (got %(value)s): visits are days with an order in the "
                "last 365 days."
            ),
        )
        within(
            "at_risk_factor",
            1.0,
            _(
                "The at-risk factor must be at least 1 (got %(value)s): a customer "
                "cannot be "
                "late before their usual interval has passed."
            ),
            _(
                "The at-risk factor cannot be more than %(maximum)s (got %(value)s): "
                "enter how many times longer than their usual interval a customer may "
                "stay away before being at risk, such as 1.5."
            ),
        )
        if not is_number(self.category_share) or not 0 < self.category_share <= 1:
            found.append(
                (
                    _(
                        "The share of revenue from one category must be above 0 and at "
                        "most 1 "
                        "(got %(value)s)."
                    ),
                    {"value": self.category_share},
                )
            )
        if (
            not isinstance(self.trend_period, str)
            or self.trend_period not in TREND_PERIOD_DAYS
        ):
            found.append(
                (
                    _(
                        "The trend period must be a month, a quarter or a year (got "
                        "%(value)s)."
                    ),
                    {"value": self.trend_period},
                )
            )
        decimals = self.currency_decimals
        if not (
            is_number(decimals)
            and 0 <= decimals <= MAX_CURRENCY_DECIMALS
            and float(decimals).is_integer()
        ):
            found.append(
                (
                    _(
                        "The company currency's number of decimals must be a whole "
                        "number from %(minimum)s to %(maximum)s (got %(value)s): "
                        "check the rounding of the company currency."
                    ),
                    {"value": decimals, "minimum": 0, "maximum": MAX_CURRENCY_DECIMALS},
                )
            )
        if dormant_ok and lost_ok and self.dormant_days > self.lost_days:
            found.append(
                (
                    _(
                        "Dormant after %(dormant)s days comes later than lost after "
                        "%(lost)s days: "
                        "lower the dormant days or raise the lost days."
                    ),
                    {"dormant": self.dormant_days, "lost": self.lost_days},
                )
            )
        if min_at_risk_ok and dormant_ok and self.min_at_risk_days > self.dormant_days:
            found.append(
                (
                    _(
                        "The minimum of %(minimum)s days before a customer is at risk "
                        "is longer than "
                        "the %(dormant)s dormant days: lower the minimum or raise the "
                        "dormant days."
                    ),
                    {"minimum": self.min_at_risk_days, "dormant": self.dormant_days},
                )
            )
        return found

    def validate(self):
        problems = self.problems()
        if problems:
            raise SettingsError(problems)
        return self

    @classmethod
    def names(cls):
        """The plain settings (not the peer groups' calibrated thresholds)."""
        return [f.name for f in fields(cls) if f.name != "group_thresholds"]


def without_group_thresholds(settings):
    """``settings`` (one, a dict per company, or None) with the companies'
    own thresholds only: for figures that do not depend on the at-risk
    threshold (the outlook's features, the replays of the calibration)."""
    if settings is None:
        return None
    if isinstance(settings, RetentionSettings):
        return replace(settings, group_thresholds=())
    return {
        company: replace(value, group_thresholds=())
        for company, value in settings.items()
    }


def settings_by_company(settings, company_ids):
    """One RetentionSettings per company id from a single instance or a dict
    (companies missing from the dict get the defaults)."""
    if isinstance(settings, RetentionSettings) or settings is None:
        shared = settings or RetentionSettings()
        return {company: shared for company in company_ids}
    return {
        company: settings.get(company, RetentionSettings()) for company in company_ids
    }
