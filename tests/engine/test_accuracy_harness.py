"""The accuracy harness (``python3 -m tests.accuracy``): its metrics on tiny
examples computed by hand, the honest choice of the fixed days, the paired
bootstrap, and the data it reads."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from retention_engine.predict import auc as engine_auc

from tests import accuracy
from tests.harness import datagen

DATA = Path(accuracy.__file__).parent / "accuracy_data"


def _converter(name):
    spec = importlib.util.spec_from_file_location(name, DATA / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- Metrics ------------------------------------------------------------------

LEFT = np.array([1, 1, 1, 0, 0, 0, 0], dtype=bool)
FLAG = np.array([1, 1, 0, 1, 0, 0, 0], dtype=bool)


def test_confusion_j_precision_recall():
    # 2 leavers caught, 1 missed; 1 stayer flagged, 3 left alone.
    assert accuracy.confusion(FLAG, LEFT) == (2, 1, 1, 3)
    assert accuracy.youden_j(FLAG, LEFT) == pytest.approx(2 / 3 - 1 / 4)
    assert accuracy.precision(FLAG, LEFT) == pytest.approx(2 / 3)
    assert accuracy.recall(FLAG, LEFT) == pytest.approx(2 / 3)


def test_j_of_everybody_or_nobody_flagged_is_zero():
    assert accuracy.youden_j(np.ones(7, bool), LEFT) == 0
    assert accuracy.youden_j(np.zeros(7, bool), LEFT) == 0


def test_auc_counts_pairs_and_half_ties():
    left = np.array([1, 1, 0, 0], dtype=bool)
    # Pairs (leaver, stayer): 3>2 yes, 3>0 yes, 1>2 no, 1>0 yes.
    assert accuracy.auc(left, [3, 1, 2, 0]) == pytest.approx(3 / 4)
    # 2 = 2 counts one half.
    assert accuracy.auc(left, [2, 1, 2, 0]) == pytest.approx(2.5 / 4)
    assert accuracy.auc(left, [2, 1, 2, 0]) == pytest.approx(
        engine_auc(left, np.array([2, 1, 2, 0]))
    )
    assert np.isnan(accuracy.auc(np.ones(3, bool), [1, 2, 3]))
    with pytest.raises(ValueError):
        accuracy.auc(left, [1, np.nan, 2, 0])


def test_best_threshold_of_fixed_days():
    since = np.array([10, 40, 50, 100, 200])
    left = np.array([0, 0, 1, 0, 1], dtype=bool)
    # More than D days, D in [40, 50): both leavers, 1 of 3 stayers: 2/3,
    # the best; the smallest D of the best.
    days, j = accuracy.best_threshold(since, left, accuracy.FIXED_DAYS)
    assert days == 40
    assert j == pytest.approx(2 / 3)
    # Without a grid, among the scores' own values: the same.
    assert accuracy.best_threshold(since, left) == (40.0, pytest.approx(2 / 3))


def _days(rows):
    return pd.DataFrame(
        [
            (customer, pd.Timestamp("2024-01-01") + pd.Timedelta(days=day), 10.0)
            for customer, day in rows
        ],
        columns=["customer", "day", "amount"],
    )


def test_honest_fixed_days_are_chosen_on_the_previous_horizon():
    # Horizon 10 days, as of day 100, so chosen as of day 90 against the
    # visits in (90, 100]. As of day 90: 1 last came 10 days ago and comes
    # back; 2, 40 days ago, does not; 3, 30 days ago, comes back; 4, 70 days
    # ago, does not. More than D days with D in [30, 40) tells them apart.
    history = _days([(1, 80), (1, 95), (2, 50), (3, 60), (3, 92), (4, 20)])
    as_of = pd.Timestamp("2024-01-01") + pd.Timedelta(days=100)
    method = accuracy.METHODS["fixed_days"]
    days, j = accuracy.honest_flag(method, history, as_of, 10)
    assert (days, j) == (30, 1.0)
    # Applied as of day 100: 5, 50, 8 and 80 days since the last visit.
    customers = accuracy.judged_customers(history, as_of)
    score = method.run(history, as_of, 10, customers).score
    assert score.tolist() == [5, 50, 8, 80]
    assert (score > days).tolist() == [False, True, False, True]


def test_judge_reads_nothing_after_as_of():
    history = _days([(1, 80), (1, 95), (2, 50), (3, 60), (3, 92), (4, 20)])
    as_of = pd.Timestamp("2024-01-01") + pd.Timedelta(days=100)
    later = pd.concat([history, _days([(2, 101), (5, 105)])], ignore_index=True)
    seen = []

    def spy(days, day, horizon, customers):
        seen.append(days["day"].max())
        return accuracy.days_since(days, day, horizon, customers)

    dataset = accuracy.Dataset("tiny", "tiny", later, as_of, horizon=10)
    methods = {"fixed_days": accuracy.Method("days", "baseline", spy, True)}
    report = accuracy.judge(dataset, methods)
    assert max(seen) <= as_of
    # In (100, 110] only customer 2 comes back: 1, 3 and 4 left; 5, first
    # seen on day 105, is not judged.
    assert report["customers"] == 4
    assert report["leavers"] == 3
    assert report["methods"]["fixed_days"]["details"]["threshold"] == 30


def test_paired_bootstrap_of_identical_and_opposite_methods():
    rng = np.random.default_rng(1)
    left = rng.random(200) < 0.4
    same = accuracy.paired_bootstrap(left, left, left, "j", draws=100)
    assert same == (0.0, 0.0, 0.0)
    # Perfect against its opposite: J 1 - (-1) on every resample (paired).
    assert accuracy.paired_bootstrap(left, left, ~left, "j", draws=100) == (
        2.0,
        2.0,
        2.0,
    )
    score = left + rng.random(200) * 0.5
    assert accuracy.paired_bootstrap(left, score, -score, "auc", draws=100) == (
        1.0,
        1.0,
        1.0,
    )


def test_paired_bootstrap_resamples_customers_with_replacement():
    rng = np.random.default_rng(2)
    left = rng.random(30) < 0.5
    first = rng.random(30) < 0.5
    second = rng.random(30) < 0.5
    point, low, high = accuracy.paired_bootstrap(
        left, first, second, "j", draws=300, seed=5
    )
    # The same draws, one by one.
    idx = np.random.default_rng(5).integers(0, 30, size=(300, 30))
    differences = [
        accuracy.youden_j(first[i], left[i]) - accuracy.youden_j(second[i], left[i])
        for i in idx
    ]
    assert point == pytest.approx(
        accuracy.youden_j(first, left) - accuracy.youden_j(second, left)
    )
    assert (low, high) == pytest.approx(tuple(np.percentile(differences, [2.5, 97.5])))
    assert low <= point <= high


def test_fit_logistic_finds_the_separating_direction():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 1))
    label = rng.random(400) < 1 / (1 + np.exp(-3 * x[:, 0]))
    model = accuracy.fit_logistic(x, label, l2=0.0)
    # Standardised coefficient of about 3 x the spread of x.
    assert model[2][1] == pytest.approx(3 * x[:, 0].std(), rel=0.3)
    chance = accuracy.logistic_probability(model, np.array([[-2.0], [0.0], [2.0]]))
    assert chance[0] < 0.1 < chance[1] < 0.9 < chance[2]


# --- Data -----------------------------------------------------------------------


def _one_row_per_customer_and_day(days):
    assert not days.duplicated(["customer", "day"]).any()
    assert list(days.columns) == ["customer", "day", "amount"]
    assert (days["amount"] >= 0).all()


def test_cdnow_loads_the_whole_sample():
    days = accuracy.load_days(DATA / "cdnow.csv")
    _one_row_per_customer_and_day(days)
    # 6,919 purchases, 223 of them on a day the customer already bought on.
    assert len(days) == 6696
    assert days["customer"].nunique() == 2357
    assert days["day"].min() == pd.Timestamp("1997-01-01")
    assert days["day"].max() == pd.Timestamp("1998-06-30")
    dataset = accuracy.cdnow()
    customers = accuracy.judged_customers(dataset.days, dataset.as_of)
    assert len(customers) == 2357
    assert accuracy.outcome(dataset, customers).sum() == 2057


def test_online_retail_loads_one_row_per_customer_and_day():
    days = accuracy.load_days(DATA / "online_retail.csv")
    _one_row_per_customer_and_day(days)
    assert len(days) == 16766
    assert days["customer"].nunique() == 4339
    assert days["day"].min() == pd.Timestamp("2010-12-01")
    assert days["day"].max() == pd.Timestamp("2011-12-09")
    dataset = accuracy.online_retail()
    customers = accuracy.judged_customers(dataset.days, dataset.as_of)
    assert len(customers) == 3370
    assert accuracy.outcome(dataset, customers).sum() == 1449


def test_online_retail_conversion_drops_cancellations_and_anonymous_lines():
    convert = _converter("convert_online_retail")
    lines = pd.DataFrame(
        [
            ("500001", 2, "2011-01-03 09:00:00", 1.50, 12345.0),
            ("500002", 1, "2011-01-03 15:00:00", 4.00, 12345.0),
            ("C500003", -2, "2011-01-03 16:00:00", 1.50, 12345.0),
            ("500004", 5, "2011-01-03 10:00:00", 2.00, None),
            ("500005", 3, "2011-01-04 10:00:00", 1.00, 12345.0),
        ],
        columns=["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"],
    )
    days = convert.customer_days(lines)
    assert days.to_dict("records") == [
        {"customer": 12345, "day": "2011-01-03", "amount": 7.0},
        {"customer": 12345, "day": "2011-01-04", "amount": 3.0},
    ]


def test_cdnow_conversion_sums_a_customers_day(tmp_path):
    convert = _converter("convert_cdnow")
    source = tmp_path / "CDNOW_sample.txt"
    source.write_text(
        " 00004 0001 19970101  2   29.33\n"
        " 00004 0001 19970101  1   10.00\n"
        " 00004 0001 19970118  2   29.73\n"
        " 00021 0002 19970101  3   63.34\n"
    )
    days = convert.convert(source)
    assert days.to_dict("records") == [
        {"customer": 4, "day": "1997-01-01", "amount": 39.33},
        {"customer": 4, "day": "1997-01-18", "amount": 29.73},
        {"customer": 21, "day": "1997-01-01", "amount": 63.34},
    ]


def test_services_history_knows_who_stopped():
    history = datagen.generate_services(customers=300, seed=3, today="2026-06-30")
    orders = history.orders.merge(history.customers, left_on="customer", right_on="key")
    # Nobody buys after their last visit ever, nor after today.
    assert not (orders["date"] > orders["stopped_on"]).any()
    assert orders["date"].max() <= pd.Timestamp("2026-06-30")
    # Regular: the median gap of a customer is close to their rhythm.
    gaps = orders.sort_values("date").groupby("customer")["date"].diff().dt.days
    median = gaps.groupby(orders["customer"]).median().dropna()
    rhythm = history.customers.set_index("key")["rhythm_days"].reindex(median.index)
    assert ((median / rhythm).between(0.8, 1.25)).mean() > 0.9
    stopped = history.customers["stopped_on"].notna()
    assert 0.1 < stopped.mean() < 0.9
    again = datagen.generate_services(customers=300, seed=3, today="2026-06-30")
    pd.testing.assert_frame_equal(history.orders, again.orders)


def test_services_dataset_is_judged_on_the_truth():
    dataset = accuracy.services()
    customers = accuracy.judged_customers(dataset.days, dataset.as_of)
    left = accuracy.outcome(dataset, customers)
    absent = accuracy.left_after(dataset.days, customers, dataset.as_of, 91)
    # Whoever stopped is absent; some who are absent are merely not due.
    assert not (left & ~absent).any()
    assert (absent & ~left).sum() > 0
