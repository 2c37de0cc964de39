"""Accuracy cannot silently drop (issue 22): calibrated mode's verdict and
chance of return, measured by the accuracy harness (tests/accuracy.py) at
engine level, on the two public histories and on the generated regular
services judged against who really stopped, stay at the figures reached
when the judgement was built (benchmark/README.md, "On public real data")
minus 0.01.

A change that makes the judgement worse fails here; a change that makes it
better should raise these floors with the new figures of
``python3 -m tests.accuracy``."""

import pytest

from tests import accuracy

# Figures of `python3 -m tests.accuracy` (benchmark/results/accuracy.json),
# calibrated mode (horizon 91), minus 0.01.
MARGIN = 0.01
REACHED = {
    # dataset: (verdict's J, chance of return's AUC)
    "cdnow": (0.5455, 0.8326),
    "online_retail": (0.3311, 0.7371),
    "services": (0.8237, 0.9480),
}


@pytest.fixture(scope="module", params=sorted(REACHED))
def measured(request):
    name = request.param
    dataset = accuracy.DATASETS[name]()
    history = accuracy.upto(dataset.days, dataset.as_of)
    customers = accuracy.judged_customers(history, dataset.as_of)
    left = accuracy.outcome(dataset, customers)
    verdict = accuracy.addon_calibrated(
        history, dataset.as_of, dataset.horizon, customers
    )
    chance = accuracy.addon_chance_calibrated(
        history, dataset.as_of, dataset.horizon, customers
    )
    return (
        name,
        accuracy.youden_j(verdict.flag, left),
        accuracy.auc(left, chance.score),
    )


def test_the_verdict_tells_the_leavers_no_worse(measured):
    name, j, _auc = measured
    floor = REACHED[name][0] - MARGIN
    assert j >= floor, f"{name}: J {j:.4f} below {floor:.4f}"


def test_the_chance_ranks_the_leavers_no_worse(measured):
    name, _j, auc = measured
    floor = REACHED[name][1] - MARGIN
    assert auc >= floor, f"{name}: AUC {auc:.4f} below {floor:.4f}"
