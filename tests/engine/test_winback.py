"""Win-back campaign rules: guardrail validation, quiet hours, the control
group and the win-back figures, with hand-computed expectations."""

import hashlib
from datetime import datetime

import pandas as pd
import pytest
from retention_engine.winback import (
    CAMPAIGN_MAXIMA,
    CONTACTED,
    HOLDOUT,
    CampaignSettings,
    holdout_size,
    in_quiet_hours,
    quiet_hours_end,
    split_holdout,
    winback_figures,
)


def test_default_settings_are_valid():
    assert CampaignSettings().problems() == []


@pytest.mark.parametrize(
    "values, count",
    [
        ({"cap_days": -1}, 1),
        ({"quiet_start": 25}, 1),
        ({"quiet_start": -1, "quiet_end": 24.5}, 2),
        ({"max_batch": -5}, 1),
        ({"holdout_percent": 51}, 1),
        ({"holdout_percent": -1}, 1),
        ({"winback_days": 0}, 1),
        (
            {
                "cap_days": 0,
                "max_batch": 0,
                "holdout_percent": 0,
                "quiet_start": 0,
                "quiet_end": 24,
            },
            0,
        ),
    ],
)
def test_settings_problems(values, count):
    problems = CampaignSettings(**values).problems()
    assert len(problems) == count
    for template, params in problems:
        assert template % params  # every template formats with its parameters


@pytest.mark.parametrize(
    "name, maximum",
    [("cap_days", 3650), ("winback_days", 3650), ("max_batch", 1_000_000)],
)
def test_settings_upper_bounds(name, maximum):
    # Ten years of days, a million SMS: accepted; one more is refused.
    assert CampaignSettings(**{name: maximum}).problems() == []
    [(template, params)] = CampaignSettings(**{name: maximum + 1}).problems()
    assert params == {"value": maximum + 1, "maximum": maximum}
    assert str(maximum) in template % params


@pytest.mark.parametrize("name", sorted(CAMPAIGN_MAXIMA))
def test_the_published_maxima_are_the_enforced_ones(name):
    # What the Odoo layer shows as the maximum is accepted, one more is not.
    assert CampaignSettings(**{name: CAMPAIGN_MAXIMA[name]}).problems() == []
    [(_template, params)] = CampaignSettings(
        **{name: CAMPAIGN_MAXIMA[name] + 1}
    ).problems()
    assert params["maximum"] == CAMPAIGN_MAXIMA[name]


@pytest.mark.parametrize(
    "values",
    [
        {"quiet_start": float("nan")},
        {"holdout_percent": float("nan")},
        {"holdout_percent": None},
        {"cap_days": float("nan")},
        {"max_batch": "1000"},
        {"winback_days": 10**400},
    ],
)
def test_empty_or_absurd_guardrails_are_one_problem_not_a_crash(values):
    assert len(CampaignSettings(**values).problems()) == 1


@pytest.mark.parametrize(
    "clock, quiet",
    [
        ("20:59", False),
        ("21:00", True),
        ("23:59", True),
        ("00:00", True),
        ("08:59", True),
        ("09:00", False),
        ("12:00", False),
    ],
)
def test_quiet_hours_wrapping_midnight(clock, quiet):
    hour, minute = map(int, clock.split(":"))
    assert in_quiet_hours(datetime(2026, 3, 2, hour, minute), 21.0, 9.0) is quiet


def test_quiet_hours_same_day_and_disabled():
    # 13:30-14:00 lunch break; start == end means no quiet hours at all
    assert in_quiet_hours(datetime(2026, 3, 2, 13, 45), 13.5, 14.0)
    assert not in_quiet_hours(datetime(2026, 3, 2, 14, 0), 13.5, 14.0)
    assert not in_quiet_hours(datetime(2026, 3, 2, 3, 0), 0, 0)
    assert not in_quiet_hours(datetime(2026, 3, 2, 3, 0), 0, 24)


def test_quiet_hours_end():
    # 22:15 on 2 March: released at 09:00 on 3 March; 07:00: 09:00 the same day
    assert quiet_hours_end(datetime(2026, 3, 2, 22, 15), 21.0, 9.0) == datetime(
        2026, 3, 3, 9, 0
    )
    assert quiet_hours_end(datetime(2026, 3, 2, 7, 0), 21.0, 9.0) == datetime(
        2026, 3, 2, 9, 0
    )
    assert quiet_hours_end(datetime(2026, 3, 2, 12, 0), 21.0, 9.0) == datetime(
        2026, 3, 2, 12, 0
    )
    # half hours: 21:30 to 08:30
    assert quiet_hours_end(datetime(2026, 3, 2, 23, 0), 21.5, 8.5) == datetime(
        2026, 3, 3, 8, 30
    )


@pytest.mark.parametrize(
    "eligible, percent, size",
    [
        (0, 10, 0),
        (4, 10, 0),
        (5, 10, 1),
        (15, 10, 2),
        (14, 10, 1),
        (100, 10, 10),
        (3, 50, 2),
        (10, 0, 0),
        (7, 12.5, 1),
    ],
)
def test_holdout_size_rounds_half_up(eligible, percent, size):
    assert holdout_size(eligible, percent) == size


def test_holdout_is_reproducible_and_order_free():
    ids = list(range(1000, 1200))
    group = split_holdout(ids, 10, seed=42)
    assert len(group) == 20
    assert group <= set(ids)
    assert split_holdout(list(reversed(ids)), 10, seed=42) == group
    assert split_holdout(ids + ids[:5], 10, seed=42) == group  # duplicates count once
    assert split_holdout(ids, 10, seed=43) != group
    assert split_holdout(ids, 0, seed=42) == set()


def test_holdout_spreads_over_the_ids():
    # not simply the lowest or highest ids: a random-like draw
    ids = list(range(1, 10001))
    group = split_holdout(ids, 10, seed=7)
    assert len(group) == 1000
    assert 300 <= sum(1 for pid in group if pid <= 3333) <= 370
    assert 300 <= sum(1 for pid in group if pid > 6666) <= 370


def test_holdout_is_documented_draw():
    # The published rule, so that anyone can re-draw a campaign's control
    # group from its seed: the ids with the smallest first 8 bytes (big
    # endian) of sha256("<seed>:<id>").
    def draw(pid):
        return int.from_bytes(hashlib.sha256(f"1:{pid}".encode()).digest()[:8], "big")

    expected = set(sorted(range(1, 11), key=draw)[:2])
    assert split_holdout(range(1, 11), 20, seed=1) == expected


def _members(contacted, holdout):
    return pd.DataFrame(
        [(pid, CONTACTED) for pid in contacted] + [(pid, HOLDOUT) for pid in holdout],
        columns=["partner_id", "group"],
    )


def _figures(customers, won_back, rate, revenue):
    """The summary of one group: its customers, how many came back (with a
    visit), that as a rate in percent, and their revenue."""
    return {
        "customers": customers,
        "won_back": won_back,
        "rate": rate,
        "revenue": revenue,
    }


def test_winback_figures():
    # 4 contacted: 1 and 2 came back (1 twice: 100 + 50, then a 30 credit
    # note), 3 only got a credit note (not a visit), 4 nothing.
    # 2 in the control group: 5 came back for 80, 6 nothing.
    members = _members([1, 2, 3, 4], [5, 6])
    purchases = pd.DataFrame(
        {
            "partner_id": [1, 1, 1, 2, 3, 5],
            "amount": [100.0, 50.0, -30.0, 200.0, -20.0, 80.0],
            "is_visit": [True, True, False, True, False, True],
            "date": pd.to_datetime(
                [
                    "2026-03-05",
                    "2026-03-01",
                    "2026-03-09",
                    "2026-03-20",
                    "2026-03-02",
                    "2026-03-03",
                ]
            ),
        }
    )
    summary, per_customer = winback_figures(members, purchases)
    # Contacted: 1 and 2 of 4 -> 50 %; 100 + 50 - 30 + 200 - 20 = 300.
    assert summary[CONTACTED] == _figures(4, 2, 50.0, 300.0)
    # Control group: 5 came back, 1 of 2 -> 50 %; 80.
    assert summary[HOLDOUT] == _figures(2, 1, 50.0, 80.0)
    assert summary["uplift"] == 0.0
    rows = per_customer.set_index("partner_id")
    assert rows["won_back"].to_dict() == {
        1: True,
        2: True,
        3: False,
        4: False,
        5: True,
        6: False,
    }
    assert rows.loc[1, "revenue"] == 120.0
    assert rows.loc[3, "revenue"] == -20.0
    assert rows.loc[1, "first_date"] == pd.Timestamp("2026-03-01")
    assert pd.isna(rows.loc[4, "first_date"])


def test_winback_uplift_and_empty_groups():
    members = _members([1, 2, 3, 4], [5, 6, 7])
    purchases = pd.DataFrame(
        {"partner_id": [1, 2, 3], "amount": [10.0, 10.0, 10.0], "is_visit": [True] * 3}
    )
    summary, _ = winback_figures(members, purchases)
    assert summary[CONTACTED]["rate"] == 75.0
    assert summary[HOLDOUT]["rate"] == 0.0
    assert summary["uplift"] == 75.0

    summary, _ = winback_figures(_members([1, 2], []), None)
    # No purchases: nobody came back; an empty control group has no rate.
    assert summary[CONTACTED] == _figures(2, 0, 0.0, 0.0)
    assert summary[HOLDOUT] == _figures(0, 0, None, 0.0)
    assert summary["uplift"] is None
