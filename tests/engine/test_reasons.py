"""The reason: one plain sentence per customer, from its status and rhythm,
plus the trend when it moved by 20 % or more; None without any visit.
Templates go through gettext before they are filled in."""

import pandas as pd
from engine_scenario import AS_OF, tx
from retention_engine import (
    METRIC_COLUMNS,
    TRANSACTION_COLUMNS,
    RetentionSettings,
    compute_metrics,
    render_reasons,
)


def reasons(*rows, settings=None, gettext=None):
    """{(company_id, partner_id): sentence}."""
    frame = pd.DataFrame(list(rows), columns=TRANSACTION_COLUMNS)
    result = compute_metrics(frame, AS_OF, settings)
    sentences = render_reasons(result, settings, gettext)
    assert sentences.index.equals(result.index)
    keys = zip(result["company_id"], result["partner_id"], strict=True)
    return dict(zip(keys, sentences, strict=True))


def reason(*rows, **options):
    """The sentence of partner 1 in company 1."""
    return reasons(*rows, **options)[(1, 1)]


def visits(*days_ago, amount=100):
    return [tx(1, day, amount) for day in days_ago]


MONTH = RetentionSettings(trend_period="month")


# one sentence per status


def test_at_risk_with_a_rhythm_says_how_overdue():
    # Visits 154, 124, 94 days ago: cadence 30, 94 / 30 = 3.13 -> 3.1x.
    # Trend by month: nothing in either month -> not mentioned.
    assert reason(*visits(154, 124, 94), settings=MONTH) == (
        "Last order 94 days ago; usually every 30 days; 3.1x overdue."
    )


def test_at_risk_without_a_rhythm_says_how_long_quiet():
    # One visit 200 days ago: no cadence, threshold = dormant 180.
    assert reason(*visits(200)) == (
        "Last order 200 days ago; no regular rhythm yet and quiet for more than 180 "
        "days."
    )


def test_lost_says_for_how_long():
    # One visit 400 days ago. Trend by quarter: nothing in either quarter.
    assert reason(*visits(400)) == (
        "Last order 400 days ago; no order for more than 365 days, the customer counts "
        "as lost."
    )


def test_new_counts_visits_since_the_first_order():
    # Visits 60 and 30 days ago, both in the current quarter: no trend.
    assert reason(*visits(60, 30)) == "First order 60 days ago; 2 visit(s) so far."


def test_active_with_a_rhythm_says_when_the_next_order_is_expected():
    # Visits 200, 100, 20 days ago: gaps 100 and 80 -> cadence 90 -> threshold
    # 135, 20 days -> active. Next: 10 June + 90 days = 8 September.
    # Trend by quarter: 100 (20 days ago) against 100 (100 days ago) = 0 %.
    assert reason(*visits(200, 100, 20)) == (
        "Last order 20 days ago; usually every 90 days; next order expected around "
        "2025-09-08."
    )


def test_active_without_a_rhythm_says_only_when():
    # One visit 120 days ago: not new, 120 <= 180 -> active. Trend by month: none.
    assert reason(*visits(120), settings=MONTH) == "Last order 120 days ago."


def test_the_rhythm_in_the_sentence_agrees_with_the_next_order():
    # Visits 141, 100, 60 days ago: gaps 41 and 40 -> cadence 40.5, threshold
    # 60.75, 60 days -> active. The next order is 1 May + 41 days (40.5 rounded
    # half up) = 11 June, so the sentence says "every 41 days".
    # Trend by year: everything is in the current year -> not mentioned.
    assert reason(
        *visits(141, 100, 60), settings=RetentionSettings(trend_period="year")
    ) == (
        "Last order 60 days ago; usually every 41 days; next order expected around "
        "2025-06-11."
    )


def test_no_visit_no_sentence():
    # Partner 1 only has a refund; partner 2 is an ordinary customer.
    sentences = reasons(tx(1, 10, -20, visit=False), tx(2, 10, 100))
    assert pd.isna(sentences[(1, 1)])
    assert sentences[(1, 2)] == "First order 10 days ago; 1 visit(s) so far."


# the trend


def test_a_rise_of_25_percent_is_mentioned():
    # Visits 100 days ago (100) and 10 days ago (125): +25 % by quarter.
    # Cadence 90, next order 20 June + 90 days = 18 September.
    assert reason(tx(1, 100, 100), tx(1, 10, 125)) == (
        "Last order 10 days ago; usually every 90 days; next order expected around "
        "2025-09-18."
        " Spending up 25% vs the previous quarter."
    )


def test_a_fall_is_mentioned_with_the_period_of_the_settings():
    # At risk as above, by quarter: all three visits in the previous quarter -> -100 %.
    assert reason(*visits(154, 124, 94)) == (
        "Last order 94 days ago; usually every 30 days; 3.1x overdue."
        " Spending down 100% vs the previous quarter."
    )


def test_a_lost_customer_mentions_the_fall_too():
    # One visit 400 days ago: by year, 0 against 100 -> -100 %.
    assert reason(*visits(400), settings=RetentionSettings(trend_period="year")) == (
        "Last order 400 days ago; no order for more than 365 days, the customer counts "
        "as lost."
        " Spending down 100% vs the previous year."
    )


def test_a_change_of_exactly_20_percent_is_mentioned():
    # Previous quarter 100, current 120 -> +20; current 80 -> -20.
    up = reason(tx(1, 100, 100), tx(1, 10, 120))
    down = reason(tx(1, 100, 100), tx(1, 10, 80))
    assert up.endswith(". Spending up 20% vs the previous quarter.")
    assert down.endswith(". Spending down 20% vs the previous quarter.")


def test_a_change_under_20_percent_is_not_mentioned():
    # +19 % and -19 %.
    for amount in (119, 81):
        assert reason(tx(1, 100, 100), tx(1, 10, amount)) == (
            "Last order 10 days ago; usually every 90 days; next order expected around "
            "2025-09-18."
        )


# settings and translation


def test_the_lost_days_are_those_of_the_company():
    # Company 2 loses customers after 200 days (dormant 100).
    settings = {2: RetentionSettings(dormant_days=100, lost_days=200)}
    sentences = reasons(
        tx(1, 300, 100, company=1), tx(1, 300, 100, company=2), settings=settings
    )
    assert (
        sentences[(1, 1)]
        == "Last order 300 days ago; no regular rhythm yet and quiet for more than 180 "
        "days."
    )
    assert sentences[(2, 1)] == (
        "Last order 300 days ago; no order for more than 200 days, the customer counts "
        "as lost."
    )


def test_templates_and_period_names_go_through_gettext_before_filling():
    seen = []

    def gettext(template):
        seen.append(template)
        return "«" + template + "»"

    sentence = reason(*visits(154, 124, 94), gettext=gettext)
    assert sentence == (
        "«Last order 94 days ago; usually every 30 days; 3.1x overdue.»"
        "« Spending down 100% vs the previous «quarter».»"
    )
    assert "quarter" in seen


def test_a_translation_is_used_as_given():
    french = {
        (
            "Last order %(days)s days ago; usually every %(cadence)s days; "
            "%(ratio)sx overdue."
        ): (
            "Dernière commande il y a %(days)s jours ; d'habitude tous les "
            "%(cadence)s jours ; %(ratio)s fois en retard."
        ),
        " Spending down %(pct)s%% vs the previous %(period)s.": (
            " Dépenses en baisse de %(pct)s %% par rapport au %(period)s précédent."
        ),
        "quarter": "trimestre",
    }
    sentence = reason(
        *visits(154, 124, 94), gettext=lambda template: french.get(template, template)
    )
    assert sentence == (
        "Dernière commande il y a 94 jours ; d'habitude tous les 30 jours ; "
        "3.1 fois en retard."
        " Dépenses en baisse de 100 % par rapport au trimestre précédent."
    )


def test_no_metrics_no_sentences():
    empty = pd.DataFrame({column: pd.Series(dtype=object) for column in METRIC_COLUMNS})
    sentences = render_reasons(empty)
    assert len(sentences) == 0


# the chance of return (engine/predict.py), where it helps


def with_chance(*rows, probability, settings=None, horizon_days=90):
    """The sentence of partner 1 in company 1 with the given probability."""
    frame = pd.DataFrame(list(rows), columns=TRANSACTION_COLUMNS)
    metrics = compute_metrics(frame, AS_OF, settings)
    metrics["return_probability"] = probability
    return render_reasons(metrics, settings, horizon_days=horizon_days).iloc[0]


def test_an_overdue_customer_hears_the_chance_of_a_visit():
    # The at-risk sentence above, with 18.4 % shown as 18 (whole percent,
    # rounded down, as everywhere: judgement.shown_chance).
    assert with_chance(*visits(154, 124, 94), probability=18.4, settings=MONTH) == (
        "Last order 94 days ago; usually every 30 days; 3.1x overdue; 18 % chance of "
        "a visit in the next 90 days."
    )


def test_a_lost_customer_hears_it_before_the_trend():
    # Lost, spending down 100 % by quarter (a visit 400 and 480 days ago:
    # nothing in either quarter, so no trend): the chance of 2.5 % -> 2 (whole
    # percent, rounded down: a chance is never shown above what it is, so it
    # never shows at a calibrated threshold it is below) over the company's
    # 120-day horizon.
    assert with_chance(*visits(400), probability=2.5, horizon_days={1: 120}) == (
        "Last order 400 days ago; no order for more than 365 days, the customer counts "
        "as lost; 2 % chance of a visit in the next 120 days."
    )


def test_the_chance_comes_before_the_trend():
    # At risk and spending down 100 % by quarter (see the gettext test).
    assert with_chance(*visits(154, 124, 94), probability=40.0) == (
        "Last order 94 days ago; usually every 30 days; 3.1x overdue; 40 % chance of "
        "a visit in the next 90 days. Spending down 100% vs the previous quarter."
    )


def test_no_chance_for_an_active_customer_nor_without_a_probability():
    # Active: the chance adds nothing to "next order expected around".
    assert with_chance(*visits(120), probability=80.0, settings=MONTH) == (
        "Last order 120 days ago."
    )
    # At risk without a probability (too little history, too few customers):
    # no number, the sentence as before.
    assert with_chance(
        *visits(154, 124, 94), probability=float("nan"), settings=MONTH
    ) == ("Last order 94 days ago; usually every 30 days; 3.1x overdue.")
