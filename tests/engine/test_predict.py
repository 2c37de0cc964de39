"""Chance of return and expected value: BG/NBD (Fader, Hardie & Lee 2005),
Gamma-Gamma for the ticket, the rhythm model, and the per-company choice.

tests/engine/data/cdnow_customers_summary.csv is the CDNOW sample summary as
of 1997-09-30 (2,357 customers; frequency, recency and T in weeks), copied
from the ``lifetimes`` 0.11.3 wheel on PyPI
(lifetimes/datasets/cdnow_customers_summary.csv), MIT licence, (c) 2015
Cameron Davidson-Pilon. The package itself is not used.
"""

import json
from math import log
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from engine_scenario import AS_OF, ago, tx
from retention_engine import TRANSACTION_COLUMNS, compute_metrics
from retention_engine.predict import (
    PREDICTION_COLUMNS,
    BgNbd,
    GammaGamma,
    bgnbd_expected_visits,
    bgnbd_p_alive,
    bgnbd_return_probability,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_models,
    gamma_gamma_expected_ticket,
    gamma_gamma_log_likelihood,
    model_records,
    predict,
    rfm_summary,
    score,
)
from scipy.integrate import quad
from scipy.stats import beta as beta_law

CDNOW = Path(__file__).parent / "data" / "cdnow_customers_summary.csv"
# r = 1, alpha = 10, a = 2, b = 1: simple powers and a 2F1 with a closed form.
SIMPLE = BgNbd(r=1.0, alpha=10.0, a=2.0, b=1.0)


def frame(*rows):
    return pd.DataFrame(list(rows), columns=TRANSACTION_COLUMNS)


def test_the_fit_on_cdnow_reproduces_the_published_parameters():
    # Fader, Hardie & Lee (2005), CDNOW sample to 1997-09-30, in weeks:
    # r = 0.243, alpha = 4.414, a = 0.793, b = 2.426.
    cdnow = pd.read_csv(CDNOW)
    fitted = fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    published = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
    for name in BgNbd._fields:
        assert getattr(fitted, name) == pytest.approx(
            getattr(published, name), abs=0.005
        ), name


def test_without_a_repeat_visit_the_customer_is_alive_and_the_chance_is_closed():
    # x = 0: P(alive) = 1 and P(no visit in t) = ((alpha + T) / (alpha + T + t))^r.
    # T = 80, t = 90: (90 / 180)^1 = 1/2, so a chance of 1/2.
    assert bgnbd_p_alive(SIMPLE, [0], [0], [80]) == pytest.approx([1.0])
    assert bgnbd_return_probability(SIMPLE, 90, [0], [0], [80]) == pytest.approx([0.5])
    # t = 45: 1 - 90 / 135 = 1/3.
    assert bgnbd_return_probability(SIMPLE, 45, [0], [0], [80]) == pytest.approx(
        [1 / 3]
    )


@pytest.mark.parametrize(
    "t, expected",
    [
        # E[Y(t)] = (a + b - 1) / (a - 1) [1 - (1 - z) 2F1(1, 1; 2; z)] with
        # z = t / (alpha + T + t) and 2F1(1, 1; 2; z) = -ln(1 - z) / z.
        # t = 90: z = 1/2 -> 2 (1 - (1/2)(ln 2)(2)) = 2 (1 - ln 2) = 0.6137.
        (90, 2 * (1 - log(2))),
        # t = 45: z = 1/3 -> 2 (1 - (2/3)(ln 1.5)(3)) = 2 (1 - 2 ln 1.5) = 0.3781
        # (t < alpha + T: computed through Euler's transformation).
        (45, 2 * (1 - 2 * log(1.5))),
    ],
)
def test_the_expected_visits_without_a_repeat_visit_have_a_closed_form(t, expected):
    assert bgnbd_expected_visits(SIMPLE, t, [0], [0], [80]) == pytest.approx(
        [expected], rel=1e-9
    )


def test_a_customer_quiet_since_their_last_visit_may_have_dropped_out():
    # x = 2, tx = 40, T = 80: a / (b + x - 1) = 2 / 2 = 1 and
    # ((alpha + T) / (alpha + tx))^(r + x) = (90 / 50)^3 = 5.832
    # -> P(alive) = 1 / 6.832 = 0.14637; P(no visit in 90 | alive) =
    # (90 / 180)^3 = 1/8 -> chance 0.14637 x 7/8 = 0.12807.
    assert bgnbd_p_alive(SIMPLE, [2], [40], [80]) == pytest.approx([1 / 6.832])
    assert bgnbd_return_probability(SIMPLE, 90, [2], [40], [80]) == pytest.approx(
        [0.875 / 6.832]
    )


@pytest.mark.parametrize("t, T", [(90, 80), (365, 400), (365, 30)])
def test_the_expected_visits_match_the_integral_over_the_dropout_probability(t, T):
    # Alive at T, the rate is Gamma(r + x, alpha + T) and the dropout
    # probability p is Beta(a, b + x); a customer alive at T expects
    # (1 - ((alpha + T) / (alpha + T + p t))^(r + x)) / p visits in t.
    params = BgNbd(r=0.7, alpha=25.0, a=0.8, b=3.0)
    x, tx_ = 3, T / 2
    r, alpha, a, b = params

    def visits_if_alive(p):
        no_visit = ((alpha + T) / (alpha + T + p * t)) ** (r + x)
        return (1 - no_visit) / p * beta_law.pdf(p, a, b + x)

    integral, _error = quad(visits_if_alive, 0, 1, limit=200)
    alive = bgnbd_p_alive(params, [x], [tx_], [T])[0]
    assert bgnbd_expected_visits(params, t, [x], [tx_], [T]) == pytest.approx(
        [alive * integral], rel=1e-7
    )


def test_the_expected_ticket_weighs_the_customer_against_the_population():
    # p = 6, q = 4, gamma = 15: population mean gamma p / (q - 1) = 30.
    # Two repeat visits averaging 40: weight p x / (p x + q - 1) = 12 / 15 =
    # 0.8 -> 0.2 x 30 + 0.8 x 40 = 38. No repeat visit, or a mean of refunds
    # (-5): the population mean, 30.
    params = GammaGamma(p=6.0, q=4.0, gamma=15.0)
    expected = gamma_gamma_expected_ticket(params, [2, 0, 3], [40.0, np.nan, -5.0])
    assert expected == pytest.approx([38.0, 30.0, 30.0])


def test_the_gamma_gamma_fit_recovers_simulated_parameters():
    # 4,000 customers with 1-10 repeat visits: each visit's amount is
    # Gamma(p, nu), the customer's nu Gamma(q, gamma). The population mean
    # ticket gamma p / (q - 1) = 15 x 6 / 3 = 30 comes back within 3 %, and
    # the fit is at least as likely as the true parameters (p alone is
    # loosely identified: 6.9 here).
    rng = np.random.default_rng(7)
    true = GammaGamma(p=6.0, q=4.0, gamma=15.0)
    nu = rng.gamma(true.q, 1 / true.gamma, 4000)
    visits = rng.integers(1, 11, 4000)
    amounts = rng.gamma(true.p * visits, 1 / nu) / visits
    fitted = fit_gamma_gamma(visits, amounts)
    population = fitted.gamma * fitted.p / (fitted.q - 1)
    assert population == pytest.approx(30.0, rel=0.03)
    likelihood = gamma_gamma_log_likelihood(fitted, visits, amounts).sum()
    assert likelihood >= gamma_gamma_log_likelihood(true, visits, amounts).sum()


def test_the_summary_counts_repeat_visit_days_and_nets_refunds():
    # Partner 1, AS_OF - 40 = day 0: orders of 30 and 20 on day 0 (one
    # visit), 40 on day 10, a refund of 10 on day 15 (no visit), 60 on day
    # 30; a row after AS_OF is ignored. Visit days 0, 10, 30: frequency 2,
    # recency 30, T 40, monetary (40 - 10 + 60) / 2 = 45.
    # Partner 2: one visit 20 days ago: frequency 0, recency 0, T 20, no
    # monetary value. Partner 3: only a refund: no row.
    rows = frame(
        tx(1, 40, 30),
        tx(1, 40, 20),
        tx(1, 30, 40),
        tx(1, 25, -10, visit=False),
        tx(1, 10, 60),
        tx(1, AS_OF + pd.Timedelta(days=1), 500),
        tx(2, 20, 100),
        tx(3, 5, -20, visit=False),
    )
    summary = rfm_summary(rows, AS_OF).set_index("partner_id")
    assert list(summary.index) == [1, 2]
    assert summary.loc[1, ["frequency", "recency", "T", "monetary_value"]].tolist() == [
        2,
        30,
        40,
        45,
    ]
    assert summary.loc[2, ["frequency", "recency", "T"]].tolist() == [0, 0, 20]
    assert np.isnan(summary.loc[2, "monetary_value"])
    # In weeks: 30 / 7 and 40 / 7.
    weeks = rfm_summary(rows, AS_OF, unit_days=7).set_index("partner_id")
    assert weeks.loc[1, "recency"] == pytest.approx(30 / 7)
    assert weeks.loc[1, "T"] == pytest.approx(40 / 7)


# --- Whole predictions --------------------------------------------------------


def regulars(count, company=1, seed=1):
    """Customers who come back on their rhythm (every 14 to 120 days, +-10 %)
    until some stop: the rhythm model knows when each is due."""
    rng = np.random.default_rng(seed)
    rows = []
    for partner in range(1, count + 1):
        cadence = rng.choice([14, 30, 60, 120])
        stop = rng.integers(0, 900) if rng.random() < 0.4 else 10_000
        day = int(rng.integers(400, 800))
        while day >= 0 and day > 800 - stop:
            rows.append(tx(partner, day, 50.0, company=company))
            day -= max(1, int(round(cadence * rng.normal(1, 0.1))))
    return frame(*rows)


def poisson_buyers(count, company=1, seed=2):
    """BG/NBD's own story: Poisson visits at a gamma-distributed rate, a
    beta-distributed chance of dropping out after each visit."""
    rng = np.random.default_rng(seed)
    rows = []
    for partner in range(1, count + 1):
        rate = rng.gamma(1.5, 1 / 60)
        dropout = rng.beta(1.0, 6.0)
        day = int(rng.integers(200, 800))
        while day >= 0:
            rows.append(tx(partner, day, float(rng.gamma(4, 10)), company=company))
            if rng.random() < dropout:
                break
            day -= 1 + int(rng.exponential(1 / rate))
    return frame(*rows)


@pytest.fixture(scope="module")
def buyers():
    return poisson_buyers(300)


@pytest.fixture(scope="module")
def predicted(buyers):
    return predict(buyers, AS_OF)


def test_regular_customers_are_better_told_by_their_rhythm():
    rows = regulars(400)
    result = predict(rows, AS_OF)
    models = result.models.iloc[0]
    assert models["model"] == "rhythm"
    assert models["rhythm_auc"] > models["bgnbd_auc"]
    assert set(result.customers["model"].dropna()) == {"rhythm"}
    # The caller's metrics rows, when given, are the features as of AS_OF.
    given = predict(rows, AS_OF, metrics=compute_metrics(rows, AS_OF))
    pd.testing.assert_frame_equal(result.customers, given.customers)


def test_random_buyers_are_better_told_by_bgnbd():
    result = predict(poisson_buyers(800), AS_OF)
    models = result.models.iloc[0]
    assert models["model"] == "bgnbd"
    assert models["bgnbd_auc"] > models["rhythm_auc"]


def test_every_customer_gets_a_row_with_numbers_that_add_up(predicted):
    result = predicted.customers
    assert list(result.columns) == PREDICTION_COLUMNS
    scored = result[result["no_prediction"].isna()]
    assert len(scored) > 250
    assert scored["return_probability"].between(0, 100).all()
    assert (scored["expected_visits"] >= 0).all()
    # predicted revenue = expected visits x expected ticket, to the cent.
    product = scored["expected_visits"] * scored["expected_ticket"]
    assert np.allclose(scored["predicted_revenue"], product, atol=0.01 * product.max())
    assert (scored["revenue_at_risk"] >= 0).all()


@pytest.fixture(scope="module")
def with_strangers(buyers):
    """The buyers, a company of 10 customers, partner 10001 first seen 10
    days ago (< 30 days of history) and partner 10002 with only a refund."""
    small = frame(*(tx(partner, 100 + partner, 20, company=2) for partner in range(10)))
    strangers = frame(tx(10001, 10, 50), tx(10002, 40, -20, visit=False))
    return predict(pd.concat([buyers, small, strangers]), AS_OF)


def test_a_company_with_too_few_customers_gets_no_number_and_says_why(with_strangers):
    # Company 2: 10 customers, fewer than 50 -> no model; company 1 is fitted.
    customers = with_strangers.customers.set_index(["company_id", "partner_id"])
    two = customers.loc[2]
    assert two["return_probability"].isna().all()
    assert two["expected_visits"].isna().all()
    assert (two["no_prediction"] == "too_few_customers").all()
    assert two["model"].isna().all()
    models = with_strangers.models.set_index("company_id")
    assert models.loc[2, "no_prediction"] == "too_few_customers"
    assert models.loc[2, "model"] is None
    assert models.loc[1, "model"] in ("bgnbd", "rhythm")


def test_recent_and_refund_only_customers_get_no_number_and_say_why(with_strangers):
    customers = with_strangers.customers.set_index(["company_id", "partner_id"])
    assert customers.loc[(1, 10001), "no_prediction"] == "too_little_history"
    assert customers.loc[(1, 10002), "no_prediction"] == "no_visit"
    assert customers.loc[[(1, 10001), (1, 10002)], "return_probability"].isna().all()


def test_transactions_after_as_of_change_nothing(buyers, predicted):
    later = frame(*(tx(partner, ago(-5), 99) for partner in range(1, 301)))
    after = predict(pd.concat([buyers, later]), AS_OF).customers
    pd.testing.assert_frame_equal(predicted.customers, after)


def test_fits_use_a_seeded_sample_and_score_everybody(buyers):
    result = predict(buyers, AS_OF, sample=150, seed=3)
    assert result.models.loc[0, "fitted_on"] <= 150
    assert result.customers["return_probability"].notna().sum() > 250
    again = predict(buyers, AS_OF, sample=150, seed=3)
    pd.testing.assert_frame_equal(result.customers, again.customers)


def test_models_fitted_once_score_customers_chunk_by_chunk(buyers):
    # Fit on everybody, keep the models as JSON, score the customers in two
    # chunks (partners 1-150, 151-300): the same rows as predict().
    whole = predict(buyers, AS_OF)
    models = fit_models(buyers, AS_OF)
    pd.testing.assert_frame_equal(models, whole.models)
    stored = json.loads(json.dumps(model_records(models)))
    chunks = [
        score(buyers[buyers["partner_id"] <= 150], AS_OF, stored),
        score(buyers[buyers["partner_id"] > 150], AS_OF, stored),
    ]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole.customers)


def test_a_rhythm_model_scores_from_its_stored_coefficients():
    rows = regulars(400)
    whole = predict(rows, AS_OF)
    stored = json.loads(json.dumps(model_records(fit_models(rows, AS_OF))))
    assert stored[0]["model"] == "rhythm"
    assert len(stored[0]["rhythm_coef"]) == 11  # the intercept and 10 features
    half = rows["partner_id"] <= 200
    chunks = [score(rows[half], AS_OF, stored), score(rows[~half], AS_OF, stored)]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole.customers)
    with pytest.raises(ValueError):
        score(rows, AS_OF, stored, horizon_days=30)


def test_a_company_without_models_gets_no_number(buyers):
    models = fit_models(buyers, AS_OF)
    other = buyers.assign(company_id=2)
    result = score(other, AS_OF, models)
    assert result["return_probability"].isna().all()
    assert result["no_prediction"].notna().all()
    scored = ~result["no_prediction"].isin(["no_visit", "too_little_history"])
    assert (result.loc[scored, "no_prediction"] == "too_few_customers").all()
