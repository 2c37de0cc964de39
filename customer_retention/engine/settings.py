"""Thresholds of the retention rules and their validation.

Messages are English templates marked with ``_`` so that Odoo's translation
export finds them; the Odoo layer translates and formats them.
"""

from dataclasses import dataclass, fields


def _(message):
    """Mark a template for translation; the caller translates it later."""
    return message


TREND_PERIOD_DAYS = {"month": 30, "quarter": 91, "year": 365}


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
    brand_share: float = 0.8  # share of revenue from one category

    @property
    def trend_days(self):
        return TREND_PERIOD_DAYS[self.trend_period]

    def problems(self):
        """What is wrong, as ``(template, params)`` pairs; empty when valid."""
        found = []

        def at_least(value, minimum, template):
            if value is None or value < minimum:
                found.append((template, {"value": value, "minimum": minimum}))

        at_least(self.lookback_days, 0, _(
            "The look-back window cannot be negative (got %(value)s days): "
            "enter a number of days, or 0 to use the whole history."))
        at_least(self.new_days, 1, _(
            "The period during which a customer counts as new must be at least "
            "%(minimum)s day (got %(value)s)."))
        at_least(self.min_at_risk_days, 1, _(
            "The minimum number of days before a customer can be at risk must be at "
            "least %(minimum)s (got %(value)s)."))
        at_least(self.dormant_days, 1, _(
            "The number of days after which a customer is dormant must be at least "
            "%(minimum)s (got %(value)s)."))
        at_least(self.lost_days, 1, _(
            "The number of days after which a customer counts as lost must be at least "
            "%(minimum)s (got %(value)s)."))
        at_least(self.frequent_visits, 1, _(
            "The number of visits that makes a customer frequent must be at least "
            "%(minimum)s (got %(value)s)."))
        at_least(self.at_risk_factor, 1.0, _(
            "The at-risk factor must be at least 1 (got %(value)s): a customer cannot be "
            "late before their usual interval has passed."))
        if not (self.brand_share and 0 < self.brand_share <= 1):
            found.append((_(
                "The share of revenue from one category must be above 0 and at most 1 "
                "(got %(value)s)."), {"value": self.brand_share}))
        if self.trend_period not in TREND_PERIOD_DAYS:
            found.append((_(
                "The trend period must be a month, a quarter or a year (got %(value)s)."),
                {"value": self.trend_period}))
        if self.dormant_days and self.lost_days and self.dormant_days > self.lost_days:
            found.append((_(
                "Dormant after %(dormant)s days comes later than lost after %(lost)s days: "
                "lower the dormant days or raise the lost days."),
                {"dormant": self.dormant_days, "lost": self.lost_days}))
        if self.min_at_risk_days and self.dormant_days and self.min_at_risk_days > self.dormant_days:
            found.append((_(
                "The minimum of %(minimum)s days before a customer is at risk is longer than "
                "the %(dormant)s dormant days: lower the minimum or raise the dormant days."),
                {"minimum": self.min_at_risk_days, "dormant": self.dormant_days}))
        return found

    def validate(self):
        problems = self.problems()
        if problems:
            raise SettingsError(problems)
        return self

    @classmethod
    def names(cls):
        return [f.name for f in fields(cls)]


def settings_by_company(settings, company_ids):
    """One RetentionSettings per company id from a single instance or a dict
    (companies missing from the dict get the defaults)."""
    if isinstance(settings, RetentionSettings) or settings is None:
        shared = settings or RetentionSettings()
        return {company: shared for company in company_ids}
    return {company: settings.get(company, RetentionSettings()) for company in company_ids}
