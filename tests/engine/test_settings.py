"""RetentionSettings: defaults, and every nonsense setting reported as a
(template, params) pair; validate() raises SettingsError carrying them."""

import pytest

from retention_engine import TREND_PERIOD_DAYS, RetentionSettings, SettingsError


def problem_params(**values):
    """The params of each problem of settings built from ``values``."""
    return [params for _template, params in RetentionSettings(**values).problems()]


def test_the_defaults():
    settings = RetentionSettings()
    assert (settings.lookback_days, settings.new_days, settings.at_risk_factor) == (730, 90, 1.5)
    assert (settings.min_at_risk_days, settings.dormant_days, settings.lost_days) == (30, 180, 365)
    assert (settings.trend_period, settings.frequent_visits, settings.brand_share) == ("quarter", 4, 0.8)


def test_the_defaults_are_valid():
    settings = RetentionSettings()
    assert settings.problems() == []
    assert settings.validate() is settings


def test_trend_periods_in_days():
    assert TREND_PERIOD_DAYS == {"month": 30, "quarter": 91, "year": 365}
    assert RetentionSettings(trend_period="month").trend_days == 30
    assert RetentionSettings(trend_period="year").trend_days == 365


def test_the_lowest_sensible_values_are_valid():
    # Look-back 0 (whole history), one day, factor 1, a share of 1, dormant
    # equal to lost, minimum at risk equal to dormant.
    settings = RetentionSettings(
        lookback_days=0, new_days=1, at_risk_factor=1, min_at_risk_days=1, dormant_days=1,
        lost_days=1, frequent_visits=1, brand_share=1,
    )
    assert settings.problems() == []


def test_min_at_risk_equal_to_dormant_equal_to_lost_is_valid():
    assert RetentionSettings(min_at_risk_days=200, dormant_days=200, lost_days=200).problems() == []


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
    assert problem_params(brand_share=None) == [{"value": None}]


def test_a_factor_below_one():
    assert problem_params(at_risk_factor=0.9) == [{"value": 0.9, "minimum": 1.0}]


@pytest.mark.parametrize("share", [0, -0.1, 1.01])
def test_a_brand_share_outside_zero_to_one(share):
    assert problem_params(brand_share=share) == [{"value": share}]


def test_an_unknown_trend_period():
    assert problem_params(trend_period="week") == [{"value": "week"}]


def test_dormant_after_lost():
    assert problem_params(dormant_days=400, lost_days=365) == [{"dormant": 400, "lost": 365}]


def test_minimum_at_risk_after_dormant():
    assert problem_params(min_at_risk_days=200, dormant_days=180) == [{"minimum": 200, "dormant": 180}]


def test_every_problem_is_reported_at_once():
    settings = RetentionSettings(lookback_days=-5, at_risk_factor=0.5, brand_share=2, trend_period="week")
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


def test_validate_raises_with_the_problems():
    settings = RetentionSettings(new_days=0, trend_period="week")
    with pytest.raises(SettingsError) as raised:
        settings.validate()
    assert raised.value.problems == settings.problems()
    assert len(raised.value.problems) == 2
    assert str(raised.value) == "; ".join(template % params for template, params in settings.problems())


def test_a_settings_error_is_a_value_error():
    assert issubclass(SettingsError, ValueError)


def test_settings_are_immutable():
    with pytest.raises(AttributeError):
        RetentionSettings().lost_days = 10


def test_the_names_of_the_settings():
    assert RetentionSettings.names() == [
        "lookback_days", "new_days", "at_risk_factor", "min_at_risk_days", "dormant_days",
        "lost_days", "trend_period", "frequent_visits", "brand_share",
    ]
