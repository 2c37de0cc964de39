"""Scenario builders shared by the engine tests: transaction rows dated in
days before AS_OF, and the engine's output indexed by customer."""

import pandas as pd
from retention_engine import TRANSACTION_COLUMNS, compute_metrics

AS_OF = pd.Timestamp("2025-06-30")


def ago(days):
    return AS_OF - pd.Timedelta(days=days)


def tx(partner, day, amount, visit=True, category=0, company=1):
    """One transaction row; ``day`` is a date or a number of days before AS_OF."""
    date = ago(day) if isinstance(day, int) else pd.Timestamp(day)
    return dict(
        company_id=company,
        partner_id=partner,
        date=date,
        amount=amount,
        is_visit=visit,
        category_id=category,
    )


def metrics(*rows, as_of=AS_OF, **options):
    """The engine's output for these rows, indexed by (company_id, partner_id)."""
    frame = pd.DataFrame(list(rows), columns=TRANSACTION_COLUMNS)
    return compute_metrics(frame, as_of, **options).set_index(
        ["company_id", "partner_id"]
    )


def customer(*rows, **options):
    """The metrics row of partner 1 in company 1."""
    return metrics(*rows, **options).loc[(1, 1)]


def period_edges(days, *amounts):
    """Visits of partner 1 at the edges of two trend periods of ``days`` days:
    the oldest day of the current period (days - 1 ago), the newest and the
    oldest of the previous one (days and 2 x days - 1 ago) and the day before
    it (2 x days ago), with these amounts."""
    edges = (days - 1, days, 2 * days - 1, 2 * days)
    return [tx(1, day, amount) for day, amount in zip(edges, amounts, strict=True)]
