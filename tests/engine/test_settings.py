"""RetentionSettings: what the defaults decide, and every nonsense setting
(below its minimum, above its maximum, empty or no number) reported as a
(template, params) pair; validate() raises SettingsError carrying them.
Maxima: 36 500 days (100 years) for every day count, a factor of 100,
365 frequent visits (days with an order in the last 365 days), 6 decimals."""

import dataclasses
import math

import pandas as pd
import pytest
from engine_scenario import AS_OF, customer, period_edges, tx
from retention_engine import MAXIMA, RetentionSettings, SettingsError

DEFAULTS = RetentionSettings()
DAY_COUNTS = "lookback_days new_days min_at_risk_days dormant_days lost_days".split()
# Every setting at its maximum, and valid together.
HIGHEST = dict.fromkeys(DAY_COUNTS, 36500) | dict(
    at_risk_factor=100, frequent_visits=365, currency_decimals=6
)


def problem_params(**values):
    """The params of each problem of settings built from ``values``."""
    return [params for _template, params in RetentionSettings(**values).problems()]


def visits(*days_ago, settings=DEFAULTS, **options):
    """The metrics row of a customer with a visit of 100 on each of these days."""
    return customer(
        *[tx(1, day, 100, **options) for day in days_ago], settings=settings
    )


@pytest.mark.parametrize(
    "days_ago, status",
    [
        # Visits 106, 76, 46 days ago: cadence 30, threshold 1.5 x 30 = 45 < 46.
        ((106, 76, 46), "at_risk"),
        # One day earlier in the same rhythm: 45 is not beyond 45.
        ((105, 75, 45), "active"),
        # Cadence 10: 1.5 x 10 = 15, raised to the minimum of 30 days; 31 > 30.
        ((121, 111, 101, 31), "at_risk"),
        ((120, 110, 100, 30), "active"),
        # A first visit 90 days ago is new, 91 days ago no longer.
        ((90,), "new"),
        ((91,), "active"),
        # No rhythm: at risk beyond the 180 dormant days.
        ((180,), "active"),
        ((181,), "at_risk"),
        # Lost beyond 365 days.
        ((365,), "at_risk"),
        ((366,), "lost"),
    ],
)
def test_the_default_thresholds_decide_the_status(days_ago, status):
    assert visits(*days_ago).status == status


def test_the_default_window_trend_and_profile():
    # Visits 731 (outside the 730-day window), 730, 100, 50 and 10 days ago,
    # all in category 3. Window: 4 visits, 400. Quarter trend: (as_of - 91,
    # as_of] has 50 and 10 days ago (200), (as_of - 182, as_of - 91] 100
    # days ago (100): +100 %. 3 visits in the last 365 days: not frequent
    # (4); all of the revenue from one category (>= 0.8): category-focused.
    row = visits(731, 730, 100, 50, 10, category=3)
    assert (row.visit_count, row.revenue, row.trend_pct, row.profile) == (
        4,
        400,
        100,
        "category_focused",
    )
    # A fourth visit in the last 365 days makes the customer frequent.
    assert visits(731, 730, 100, 50, 10, 5, category=3).profile == "frequent"


def test_the_default_currency_has_cents():
    # An order of 0.125: revenue 0.13.
    assert customer(tx(1, 10, 0.125), settings=DEFAULTS).revenue == 0.13


def test_the_defaults_are_valid():
    settings = RetentionSettings()
    assert settings.problems() == []
    assert settings.validate() is settings


@pytest.mark.parametrize("name, days", [("month", 30), ("quarter", 91), ("year", 365)])
def test_each_trend_period_compares_its_last_days_against_as_many_before(name, days):
    # P days: (as_of - P, as_of] against (as_of - 2P, as_of - P].
    # P - 1 days ago 150: current. P days ago 60 and 2P - 1 days ago 40:
    # previous, 100. 2P days ago 1000: neither. 100 x (150 - 100) / 100 = 50.
    row = customer(
        *period_edges(days, 150, 60, 40, 1000),
        settings=RetentionSettings(trend_period=name),
    )
    assert row.trend_pct == 50


def test_the_lowest_sensible_values_are_valid():
    # Look-back 0 (whole history), one day for every other day count (dormant
    # equal to lost, minimum at risk equal to dormant), one visit, factor 1, a
    # share of 1.
    ones = dict.fromkeys(DAY_COUNTS, 1) | dict(
        frequent_visits=1, at_risk_factor=1, category_share=1
    )
    settings = RetentionSettings(**ones | {"lookback_days": 0})
    assert settings.problems() == []


def test_min_at_risk_equal_to_dormant_equal_to_lost_is_valid():
    assert (
        RetentionSettings(
            min_at_risk_days=200, dormant_days=200, lost_days=200
        ).problems()
        == []
    )


def test_a_negative_lookback():
    assert problem_params(lookback_days=-1) == [{"value": -1, "minimum": 0}]


@pytest.mark.parametrize("name", ["new_days", "min_at_risk_days", "frequent_visits"])
def test_counts_of_days_or_visits_below_one(name):
    assert problem_params(**{name: 0}) == [{"value": 0, "minimum": 1}]


def test_dormant_days_below_one():
    # 0 dormant days is nonsense by itself; it does not also count as
    # "shorter than the minimum at risk".
    assert problem_params(dormant_days=0) == [{"value": 0, "minimum": 1}]


def test_lost_days_below_one():
    # Likewise not also "dormant after lost".
    assert problem_params(lost_days=0) == [{"value": 0, "minimum": 1}]


def test_an_empty_value_is_a_problem():
    assert problem_params(new_days=None) == [{"value": None, "minimum": 1}]
    assert problem_params(category_share=None) == [{"value": None}]
    assert problem_params(at_risk_factor=None) == [{"value": None, "minimum": 1.0}]


@pytest.mark.parametrize(
    "name", ["at_risk_factor", "category_share", "lookback_days", "dormant_days"]
)
def test_not_a_number_is_a_problem_not_a_crash(name):
    # NaN compares false with everything: it must be refused, not let through.
    [params] = problem_params(**{name: float("nan")})
    assert math.isnan(params["value"])


@pytest.mark.parametrize(
    "values", [{"at_risk_factor": "1.5"}, {"lost_days": "365"}, {"dormant_days": None}]
)
def test_text_or_an_empty_day_count_is_one_problem_not_a_crash(values):
    # Not also "dormant after lost" or "minimum at risk after dormant".
    [params] = problem_params(**values)
    assert params["value"] == next(iter(values.values()))


def test_the_highest_values_are_valid():
    assert RetentionSettings(**HIGHEST).problems() == []


@pytest.mark.parametrize(
    "name, above",
    [
        ("lookback_days", 36501),
        ("new_days", 36501),
        ("min_at_risk_days", 36501),
        ("dormant_days", 36501),
        ("lost_days", 36501),
        ("at_risk_factor", 100.5),
        ("frequent_visits", 366),
    ],
)
def test_one_above_the_maximum(name, above):
    # Every other setting at its maximum: the only problem is this one.
    maximum = HIGHEST[name]
    assert problem_params(**HIGHEST | {name: above}) == [
        {"value": above, "maximum": maximum}
    ]


@pytest.mark.parametrize("name", sorted(MAXIMA))
def test_the_published_maxima_are_the_enforced_ones(name):
    # What the Odoo layer shows as the maximum is accepted, one more is not.
    at_most = HIGHEST | {name: MAXIMA[name]}
    assert RetentionSettings(**at_most).problems() == []
    [params] = problem_params(**at_most | {name: MAXIMA[name] + 1})
    assert params["value"] == MAXIMA[name] + 1
    assert params["maximum"] == MAXIMA[name]


@pytest.mark.parametrize("lookback", [2**31, 10**400, float("inf")])
def test_an_absurd_look_back_is_refused_before_any_recompute(lookback):
    # 2**31 days is no timedelta pandas can hold (nor a date after 1677):
    # a recompute with it overflows. It never gets there.
    settings = RetentionSettings(lookback_days=lookback)
    assert problem_params(lookback_days=lookback) == [
        {"value": lookback, "maximum": 36500}
    ]
    with pytest.raises(SettingsError):
        settings.validate()


def test_the_longest_windows_still_compute():
    # Every day count at 36 500. Visits 36 501 days ago (1000, 24 July 1925,
    # the day before the window), 36 500 days ago (100, the window's first
    # day) and 10 days ago (20): 2 visits and 120 in the window. The first
    # visit is one day too old to be new (36 500 days): active, 10 days since.
    settings = RetentionSettings(**HIGHEST).validate()
    row = customer(
        tx(1, 36501, 1000), tx(1, 36500, 100), tx(1, 10, 20), settings=settings
    )
    assert row.first_order_date == AS_OF - pd.Timedelta(days=36501)
    assert (row.visit_count, row.revenue, row.status) == (2, 120, "active")


@pytest.mark.parametrize("decimals", [0, 2, 6])
def test_currency_decimals_from_0_to_6_are_valid(decimals):
    assert RetentionSettings(currency_decimals=decimals).problems() == []


@pytest.mark.parametrize("decimals", [-1, 7, 1.5, None, float("nan")])
def test_other_currency_decimals_are_a_problem(decimals):
    [(template, params)] = RetentionSettings(currency_decimals=decimals).problems()
    assert (params["minimum"], params["maximum"]) == (0, 6)
    assert params["value"] is decimals
    assert template % params


def test_a_factor_below_one():
    assert problem_params(at_risk_factor=0.9) == [{"value": 0.9, "minimum": 1.0}]


@pytest.mark.parametrize("share", [0, -0.1, 1.01])
def test_a_category_share_outside_zero_to_one(share):
    assert problem_params(category_share=share) == [{"value": share}]


def test_an_unknown_trend_period():
    assert problem_params(trend_period="week") == [{"value": "week"}]


def test_dormant_after_lost():
    assert problem_params(dormant_days=400, lost_days=365) == [
        {"dormant": 400, "lost": 365}
    ]


def test_minimum_at_risk_after_dormant():
    assert problem_params(min_at_risk_days=200, dormant_days=180) == [
        {"minimum": 200, "dormant": 180}
    ]


def test_every_problem_is_reported_at_once():
    settings = RetentionSettings(
        lookback_days=-5, at_risk_factor=0.5, category_share=2, trend_period="week"
    )
    assert len(settings.problems()) == 4


def test_templates_read_with_their_params():
    # Each template is English text with named placeholders.
    [(template, params)] = RetentionSettings(lookback_days=-3).problems()
    assert template % params == (
        "The look-back window cannot be negative (got -3 days): "
        "enter a number of days, or 0 to use the whole history."
    )
    [(template, params)] = RetentionSettings(dormant_days=400).problems()
    assert template % params == (
        "Dormant after 400 days comes later than lost after 365 days: "
        "lower the dormant days or raise the lost days."
    )
    [(template, params)] = RetentionSettings(lookback_days=40000).problems()
    assert template % params == (
        "The look-back window cannot be longer than 36500 days (got 40000): "
        "enter a shorter window, or 0 to use the whole history."
    )


def test_validate_raises_with_the_problems():
    settings = RetentionSettings(new_days=0, trend_period="week")
    with pytest.raises(SettingsError) as raised:
        settings.validate()
    assert raised.value.problems == settings.problems()
    assert len(raised.value.problems) == 2
    assert str(raised.value) == "; ".join(
        template % params for template, params in settings.problems()
    )


def test_the_names_rebuild_the_settings():
    # Every setting away from its default: a name missing from names() would
    # come back as its default and the copy would differ.
    settings = RetentionSettings(**HIGHEST, trend_period="month", category_share=0.6)
    # The peer groups' thresholds are the calibration's, not a setting.
    assert all(
        getattr(settings, field.name) != field.default
        for field in dataclasses.fields(RetentionSettings)
        if field.name != "group_thresholds"
    )
    names = RetentionSettings.names()
    assert "group_thresholds" not in names
    copy = RetentionSettings(**{name: getattr(settings, name) for name in names})
    assert copy == settings
