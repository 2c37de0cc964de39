"""Transactions in, one row of retention metrics per (company, customer) out.

Units: days for every duration, the company currency for every amount, each
customer's amounts rounded to its currency's decimals before they are compared
(:func:`round_money`), so that amounts equal to the cent rank equal. The
pipeline reads top to bottom in :func:`compute_metrics`: visits -> window
figures -> cadence -> status -> trend -> rank -> profile -> alert and action.
Every step works on whole columns; nothing loops over customers in Python.
"""

import numpy as np
import pandas as pd

from . import rules
from .money import round_money
from .rules import OVERDUE_STATUSES  # noqa: F401 (exported by the engine)
from .settings import DAYS_PER_YEAR, settings_by_company, without_group_thresholds

STATUSES = (
    ("new", "New"),
    ("active", "Active"),
    ("at_risk", "At risk"),
    ("lost", "Lost"),
)
PROFILES = (
    ("one_time", "One-time"),
    ("dormant", "Dormant"),
    ("valuable", "Valuable"),
    ("frequent", "Frequent"),
    ("category_focused", "Category-focused"),
    ("sporadic", "Sporadic"),
)
ALERTS = (
    ("opportunity", "Opportunity"),
    ("at_risk", "At risk"),
    ("monitor", "Monitor"),
)
ACTIONS = (
    ("win_back", "Win-back offer"),
    ("reactivation", "Reactivation campaign"),
    ("loyalty", "Account manager and loyalty reward"),
    ("cross_sell", "Keep the rhythm, suggest related services"),
    ("starter_offer", "Starter offer for a second visit"),
    ("seasonal_promo", "Seasonal promotion, check needs"),
    ("same_category", "Offers from the same category"),
)
TIERS = (
    ("top10", "Top 10%"),
    ("top25", "Top 25%"),
    ("top50", "Top 50%"),
    ("below", "Below median"),
)

TRANSACTION_COLUMNS = [
    "company_id",
    "partner_id",
    "date",
    "amount",
    "is_visit",
    "category_id",
]
# What a customer's retention is made of: the values users see.
VALUE_COLUMNS = [
    "first_order_date",
    "last_order_date",
    "visit_count",
    "revenue",
    "avg_ticket",
    "cadence_days",
    "days_since_last",
    "next_order_date",
    "status",
    "overdue",
    "trend_pct",
    "group_top_pct",
    "group_tier",
    "profile",
    "alert",
    "action",
]
METRIC_COLUMNS = [
    "company_id",
    "partner_id",
    *VALUE_COLUMNS,
    # helpers for the reason sentence and for ranking again (rerank)
    "lifetime_visits",
    "visits_365",
    "top_category_share",
    "at_risk_threshold",
    "overdue_ratio",
    "group_key",
]
_NO_GROUP = "__none__"
# 100 x 11 / 20 may come out as 55.00000000000001: not the top 56 %.
RANK_TOLERANCE = 1e-9
# Columns that depend on the rank among peers (rerank recomputes them).
RANK_COLUMNS = ("group_top_pct", "group_tier", "profile", "alert", "action")
# Columns that move with the calendar alone: :func:`daily_figures` derives
# them from the others on the day they are read, so a stored row changes only
# when one of its own values does.
DAILY_COLUMNS = ("days_since_last", "overdue_ratio", "overdue")


def compute_metrics(
    transactions, as_of, settings=None, groups=None, peers=None, ranks=None
):
    """Retention metrics per (company_id, partner_id).

    :param transactions: frame with :data:`TRANSACTION_COLUMNS`; several rows
        may share a customer and day (lines, categories, orders of that day).
    :param as_of: reference day; later rows are ignored.
    :param settings: a :class:`RetentionSettings` or ``{company_id: settings}``.
    :param groups: optional frame ``company_id, partner_id, group_key``: the
        peer group of each customer (missing or null: the group "no value"),
        for the ranks and for the thresholds of the groups that have their
        own (``RetentionSettings.group_thresholds``; required then).
    :param peers: optional frame ``company_id, group_key, revenue`` of
        customers *not* in ``transactions`` that still count in the group
        ranks (incremental recomputes rank against stored revenues, rounded
        to the currency like the computed ones), or a function that counts
        them without listing them (see :func:`count_peers_in`, whose
        counter of a frame gives the same ranks as the frame).
    :param ranks: optional frame ``company_id, partner_id, group_top_pct``:
        ranks taken as they are instead of computed (a run in chunks passes
        each chunk its customers' stored ranks, then ranks everybody again
        with :func:`rerank`); ``peers`` is then not read.
    :return: frame with :data:`METRIC_COLUMNS`, one row per customer that has
        a transaction on or before ``as_of``.
    """
    as_of = pd.Timestamp(as_of).normalize()
    tx = _clean(transactions, as_of)
    if tx.empty:
        return pd.DataFrame(
            {column: pd.Series(dtype=object) for column in METRIC_COLUMNS}
        )

    customers, days = _customer_days(tx)
    limits = _limits(customers, settings, as_of, groups)
    _visit_figures(customers, days, limits, as_of)
    _window_figures(customers, days, limits)
    _cadence(customers, days, limits)
    _status(customers, limits, as_of)
    _trend(customers, days, limits, as_of)
    _rank(customers, limits, groups, peers, ranks)
    _top_category_share(customers, tx, limits)
    _profile(customers, limits)
    _alert_and_action(customers)
    return customers[METRIC_COLUMNS].reset_index(drop=True)


def statuses_over_time(transactions, days, settings=None, groups=None):
    """Each customer's status on each of ``days`` (ascending), as pairs
    (day, frame ``company_id, partner_id, status``), from its transactions
    up to that day, as :func:`compute_metrics` decides it, without the
    figures status does not need (trend, rank, profile). The customers'
    days are grouped once for all the days. The month-end statuses of the
    past are rebuilt with it. ``groups`` as for :func:`compute_metrics`."""
    ends = [pd.Timestamp(day).normalize() for day in days]
    tx = _clean(transactions, max(ends)) if ends else transactions.iloc[:0]
    if tx.empty:
        for end in ends:
            yield end, pd.DataFrame(columns=["company_id", "partner_id", "status"])
        return
    everybody, every_day = _customer_days(tx)
    for as_of in ends:
        # Days are sorted by customer and date: a subset stays sorted. The
        # customers present then are numbered 0.. again, the positions the
        # per-customer steps index their limits with.
        days_then = every_day[every_day["date"] <= as_of].copy()
        if days_then.empty:  # a day before every transaction
            yield as_of, pd.DataFrame(columns=["company_id", "partner_id", "status"])
            continue
        present = days_then["customer"].unique()
        number = np.full(len(everybody), -1, dtype="int64")
        number[present] = np.arange(len(present))
        days_then["customer"] = number[days_then["customer"].to_numpy()]
        customers = everybody.loc[present].copy()
        customers.index = pd.RangeIndex(len(present))
        customers["customer"] = customers.index
        limits = _limits(customers, settings, as_of, groups)
        _visit_figures(customers, days_then, limits, as_of)
        days_then["in_window"] = _in_window(
            days_then["date"].to_numpy(), days_then["customer"].to_numpy(), limits
        )
        _cadence(customers, days_then, limits)
        _status(customers, limits, as_of)
        yield (
            as_of,
            customers[["company_id", "partner_id", "status"]].reset_index(drop=True),
        )


def _clean(transactions, as_of):
    tx = transactions.loc[:, TRANSACTION_COLUMNS].copy()
    tx["date"] = pd.to_datetime(tx["date"]).dt.normalize()
    tx = tx[tx["date"] <= as_of]
    tx["company_id"] = tx["company_id"].astype("int64")
    tx["partner_id"] = tx["partner_id"].astype("int64")
    tx["amount"] = tx["amount"].astype("float64").fillna(0.0)
    tx["is_visit"] = tx["is_visit"].fillna(False).astype(bool)
    tx["category_id"] = tx["category_id"].fillna(0).astype("int64")
    return tx


def _customer_days(tx):
    """One row per customer, and one row per (customer, day) with the day's
    net amount and whether it was a visit (an order, not only refunds)."""
    tx["customer"] = tx.groupby(["company_id", "partner_id"], sort=True).ngroup()
    days = (
        tx.groupby(["customer", "date"], sort=True)
        .agg(amount=("amount", "sum"), visit=("is_visit", "max"))
        .reset_index()
    )
    customers = (
        tx.drop_duplicates("customer")
        .sort_values("customer")[["customer", "company_id", "partner_id"]]
        .set_index("customer", drop=False)
    )
    return customers, days


def _limits(customers, settings, as_of, groups=None):
    """Each customer's thresholds as columns, from its company's settings,
    and its peer group's at-risk thresholds where the group has its own."""
    per_company = settings_by_company(settings, customers["company_id"].unique())
    table = pd.DataFrame.from_dict(
        {
            company: {name: getattr(value, name) for name in value.names()}
            | {"trend_days": value.trend_days}
            for company, value in per_company.items()
        },
        orient="index",
    )
    limits = table.reindex(customers["company_id"].to_numpy()).set_index(
        customers.index
    )
    _group_thresholds(customers, limits, per_company, groups)
    lookback = limits["lookback_days"].astype("int64")
    # NaT: look-back 0, the whole history (see _in_window).
    limits["window_start"] = (as_of - pd.to_timedelta(lookback, unit="D")).where(
        lookback > 0
    )
    return limits


# The thresholds a peer group may have of its own (RetentionSettings.group_thresholds).
GROUP_THRESHOLD_COLUMNS = ("at_risk_factor", "min_at_risk_days", "dormant_days")


def _group_thresholds(customers, limits, per_company, groups):
    """Replace, in ``limits``, the at-risk thresholds of the customers whose
    peer group has its own."""
    own = [
        (company, key, *values)
        for company, value in per_company.items()
        for key, *values in value.group_thresholds
    ]
    if not own:
        return
    if groups is None:
        raise ValueError(
            "Settings with peer-group thresholds need the customers' peer groups."
        )
    table = pd.DataFrame(
        own, columns=["company_id", "group_key", *GROUP_THRESHOLD_COLUMNS]
    ).astype({"company_id": "int64", "group_key": "float64"})
    keyed = pd.DataFrame(
        {
            "company_id": customers["company_id"].to_numpy(dtype="int64"),
            "group_key": pd.to_numeric(
                pd.Series(_group_keys(customers, groups)), errors="coerce"
            ).to_numpy(dtype="float64"),
        }
    )
    matched = keyed.merge(table, how="left", on=["company_id", "group_key"])
    for column in GROUP_THRESHOLD_COLUMNS:
        values = matched[column].to_numpy(dtype="float64")
        limits[column] = np.where(
            np.isnan(values), limits[column].to_numpy(dtype="float64"), values
        )


def _group_keys(customers, groups):
    """Each customer's peer-group key (None without one), in their order."""
    if groups is None or not len(groups):
        return np.full(len(customers), None, dtype=object)
    keys = groups.loc[:, ["company_id", "partner_id", "group_key"]].drop_duplicates(
        ["company_id", "partner_id"]
    )
    merged = customers[["company_id", "partner_id"]].merge(
        keys, how="left", on=["company_id", "partner_id"]
    )
    return merged["group_key"].to_numpy()


def window_start(as_of, settings):
    """First day of the look-back window of a company as of ``as_of`` (None:
    the whole history): the days from it on count for revenue, visits and
    cadence."""
    if not settings.lookback_days:
        return None
    return (
        pd.Timestamp(as_of).normalize() - pd.Timedelta(days=settings.lookback_days)
    ).date()


def _in_window(dates, customer_codes, limits):
    """Whether each row's date lies in its customer's look-back window."""
    start = limits["window_start"].to_numpy()[customer_codes]
    return np.isnat(start) | (np.asarray(dates, dtype="datetime64[ns]") >= start)


def _visit_figures(customers, days, limits, as_of):
    visits = days[days["visit"]]
    by_customer = visits.groupby("customer")["date"]
    customers["first_order_date"] = by_customer.min().reindex(customers.index)
    customers["last_order_date"] = by_customer.max().reindex(customers.index)
    customers["lifetime_visits"] = (
        by_customer.size().reindex(customers.index, fill_value=0).astype("int64")
    )
    customers["days_since_last"] = _days_since(customers["last_order_date"], as_of)
    recent = visits["date"] >= as_of - pd.Timedelta(days=DAYS_PER_YEAR)
    customers["visits_365"] = (
        recent.groupby(visits["customer"])
        .sum()
        .reindex(customers.index, fill_value=0)
        .astype("int64")
    )


def _window_figures(customers, days, limits):
    in_window = _in_window(days["date"].to_numpy(), days["customer"].to_numpy(), limits)
    days["in_window"] = in_window
    window_visits = in_window & days["visit"].to_numpy()
    customers["visit_count"] = (
        pd.Series(window_visits)
        .groupby(days["customer"].to_numpy())
        .sum()
        .reindex(customers.index, fill_value=0)
        .astype("int64")
    )
    revenue = days["amount"].where(in_window, 0.0).groupby(days["customer"]).sum()
    customers["revenue"] = _money(
        revenue.reindex(customers.index, fill_value=0.0), limits
    )
    count = customers["visit_count"]
    customers["avg_ticket"] = _money(
        customers["revenue"] / count.where(count > 0), limits
    )


def _money(per_customer, limits):
    """Amounts per customer rounded to the decimals of its company's currency."""
    decimals = limits["currency_decimals"].reindex(per_customer.index).to_numpy()
    return pd.Series(
        round_money(per_customer.to_numpy(), decimals), index=per_customer.index
    )


def _cadence(customers, days, limits):
    """Median gap between consecutive visits inside the window."""
    visits = days[days["in_window"] & days["visit"]]
    # Days are sorted by customer and date; a customer's first visit has no gap (NaN).
    gaps = visits.groupby("customer")["date"].diff().dt.days
    cadence = gaps.groupby(visits["customer"]).median()
    customers["cadence_days"] = cadence.reindex(customers.index).astype("float64")
    whole_days = np.floor(customers["cadence_days"] + 0.5)
    customers["next_order_date"] = customers["last_order_date"] + pd.to_timedelta(
        whole_days, unit="D"
    )


def _status(customers, limits, as_of):
    cadence = customers["cadence_days"]
    since = customers["days_since_last"]
    customers["at_risk_threshold"] = np.where(
        cadence.isna(),
        limits["dormant_days"],
        np.minimum(
            np.maximum(limits["at_risk_factor"] * cadence, limits["min_at_risk_days"]),
            limits["dormant_days"],
        ),
    )
    new_since = as_of - pd.to_timedelta(limits["new_days"].astype("int64"), unit="D")
    has_visit = customers["last_order_date"].notna()
    customers["status"] = _choose(
        [
            has_visit & (since > limits["lost_days"]),
            has_visit & (customers["first_order_date"] >= new_since),
            has_visit & (since > customers["at_risk_threshold"]),
            has_visit,
        ],
        ["lost", "new", "at_risk", "active"],
    )
    _overdue(customers, as_of)


def _days_since(last_order_date, as_of):
    return rules.days_since(last_order_date, as_of)


def _overdue(customers, as_of):
    customers["overdue_ratio"] = (
        customers["days_since_last"] / customers["cadence_days"]
    )
    customers["overdue"] = rules.overdue(
        customers["status"], customers["next_order_date"], as_of
    )


def daily_figures(metrics, as_of):
    """The :data:`DAILY_COLUMNS` of stored metrics rows (``last_order_date``,
    ``next_order_date``, ``cadence_days``, ``status``) on the day ``as_of``,
    as :func:`compute_metrics` would give them: set on a copy."""
    as_of = pd.Timestamp(as_of).normalize()
    result = metrics.copy()
    result["days_since_last"] = _days_since(result["last_order_date"], as_of)
    _overdue(result, as_of)
    return result


def _trend(customers, days, limits, as_of):
    period = pd.to_timedelta(
        limits["trend_days"].astype("int64").to_numpy()[days["customer"].to_numpy()],
        unit="D",
    )
    current_start = as_of - period
    current = days["date"] > current_start
    previous = (days["date"] > current_start - period) & ~current

    def revenue_of(period_days):
        total = days["amount"].where(period_days, 0.0).groupby(days["customer"]).sum()
        return _money(total.reindex(customers.index, fill_value=0.0), limits)

    now, before = revenue_of(current), revenue_of(previous)
    # A change against nothing, or against a net refund, is no percentage.
    customers["trend_pct"] = (100.0 * (now - before) / before.where(before > 0)).astype(
        "float64"
    )


def rerank(metrics, as_of, settings=None, groups=None):
    """Rank again rows of :func:`compute_metrics` computed in separate
    chunks, all together: the :data:`RANK_COLUMNS` (rank, tier, and the
    profile, alert and action that depend on the tier) as one call over all
    the rows would give them. ``metrics`` needs the company, partner,
    revenue, status, last order date, lifetime visits, visits in 365 days
    and top category share columns; ``groups`` as for compute_metrics.
    Returns a copy with the rank columns replaced."""
    as_of = pd.Timestamp(as_of).normalize()
    customers = metrics.reset_index(drop=True).copy()
    if customers.empty:
        return customers
    customers["last_order_date"] = pd.to_datetime(customers["last_order_date"])
    customers["days_since_last"] = _days_since(customers["last_order_date"], as_of)
    # The statuses are given: no at-risk threshold is needed.
    limits = _limits(customers, without_group_thresholds(settings), as_of)
    _rank(customers, limits, groups, None)
    _profile(customers, limits)
    _alert_and_action(customers)
    return customers


def _rank(customers, limits, groups, peers, ranks=None):
    """Top-x % by window revenue among customers of the same company and
    group that have a positive revenue (see :func:`_top_pct`), or the
    precomputed ``ranks``."""
    group_key = _group_keys(customers, groups)
    customers["group_key"] = pd.Series(
        group_key, index=customers.index, dtype=object
    ).where(pd.notna(group_key), None)
    if ranks is not None:
        given = customers[["company_id", "partner_id"]].merge(
            ranks[["company_id", "partner_id", "group_top_pct"]].drop_duplicates(
                ["company_id", "partner_id"]
            ),
            how="left",
            on=["company_id", "partner_id"],
        )
        customers["group_top_pct"] = given["group_top_pct"].to_numpy(dtype="float64")
    else:
        customers["group_top_pct"] = _ranked_pct(customers, limits, peers)
    pct = customers["group_top_pct"]
    customers["group_tier"] = _choose(
        [pct <= 10, pct <= 25, pct <= 50, pct.notna()],
        ["top10", "top25", "top50", "below"],
    )


def _ranked_pct(customers, limits, peers):
    ranked = customers.loc[
        customers["revenue"] > 0, ["company_id", "group_key", "revenue"]
    ]
    if peers is None or (not callable(peers) and not len(peers)):
        return _top_pct(ranked).reindex(customers.index).astype("float64")
    if not callable(peers):
        # Peers of a company without a customer here share no group with them.
        decimals = dict(
            zip(customers["company_id"], limits["currency_decimals"], strict=False)
        )
        peers = count_peers_in(peers, decimals)
    return _counted_pct(ranked, peers).reindex(customers.index).astype("float64")


def count_peers_in(peers, decimals):
    """The peer counter (see :func:`_counted_pct`) of the frame ``peers``
    (``company_id, group_key, revenue``), each company's revenues rounded
    to its currency's ``decimals`` (``{company_id: decimals}``; the peers
    of other companies are left out). The Odoo layer counts stored revenues
    in one SQL aggregate instead (retention_store.peer_counter); the tests
    compare both."""
    others = peers.loc[
        peers["company_id"].isin(list(decimals)), ["company_id", "group_key", "revenue"]
    ]
    others = others.assign(
        revenue=round_money(
            others["revenue"].to_numpy(dtype="float64"),
            others["company_id"].map(decimals),
        ),
        label=_group_labels(others["group_key"]).to_numpy(),
    )
    others = others[others["revenue"] > 0]
    sorted_by_group = {
        key: np.sort(group["revenue"].to_numpy())
        for key, group in others.groupby(["company_id", "label"])
    }

    def count(thresholds):
        labels = _group_labels(thresholds["group_key"]).to_numpy()
        above = np.zeros(len(thresholds), dtype="int64")
        total = np.zeros(len(thresholds), dtype="int64")
        for index, (company_id, label, revenue) in enumerate(
            zip(thresholds["company_id"], labels, thresholds["revenue"], strict=True)
        ):
            revenues = sorted_by_group.get((company_id, label))
            if revenues is not None:
                total[index] = len(revenues)
                above[index] = len(revenues) - np.searchsorted(
                    revenues, revenue, side="right"
                )
        return pd.DataFrame({"above": above, "peers": total}, index=thresholds.index)

    return count


def _counted_pct(ranked, count_peers):
    """:func:`_top_pct` of the ``ranked`` rows among themselves and the
    peers that ``count_peers`` counts without listing them: given a frame
    ``company_id, group_key, revenue`` (the distinct positive revenues of
    each group here), it returns, on the same index, ``above``, how many
    peers of that company and group have a revenue (rounded to the currency)
    strictly above it, and ``peers``, how many peers of the group have a
    positive one. The same arithmetic as over one list of everybody: rank
    "min" = 1 + the number strictly richer, here and among the peers."""
    if ranked.empty:
        return pd.Series(dtype="float64")
    key = _group_labels(ranked["group_key"])
    thresholds = ranked.assign(label=key.to_numpy()).drop_duplicates(
        ["company_id", "label", "revenue"]
    )
    counted = count_peers(
        thresholds[["company_id", "group_key", "revenue"]].reset_index(drop=True)
    )
    counts = (
        thresholds[["company_id", "label", "revenue"]]
        .reset_index(drop=True)
        .assign(above=counted["above"].to_numpy(), peers=counted["peers"].to_numpy())
    )
    # a left merge keeps the rows' order
    merged = (
        ranked[["company_id", "revenue"]]
        .assign(label=key.to_numpy())
        .merge(counts, how="left", on=["company_id", "label", "revenue"])
    )
    by_group = ranked["revenue"].groupby([ranked["company_id"], key])
    rank = by_group.rank(method="min", ascending=False) + merged["above"].to_numpy()
    size = by_group.transform("size") + merged["peers"].to_numpy()
    exact = 100.0 * rank / size
    return np.ceil(exact - RANK_TOLERANCE)


def _top_pct(ranked):
    """100 x (1 + number strictly richer) / count, per company and group of
    the ``ranked`` rows (revenue rounded to the currency and positive),
    rounded up to a whole percent: the top 7.5 % show as "top 8 %"; the
    tiers (10, 25, 50) are the same either way. Finer ranks would change for
    most customers of a group whenever one of them buys, and rewrite their
    rows every night for a difference nobody reads."""
    key = _group_labels(ranked["group_key"])
    by_group = ranked["revenue"].groupby([ranked["company_id"], key])
    # rank "min": equal revenues share the best place. Not rank(pct=True):
    # dividing first and then multiplying by 100 gives 55.00000000000001 for
    # 11 of 20, where 100 x 11 / 20 is 55.
    exact = (
        100.0
        * by_group.rank(method="min", ascending=False)
        / by_group.transform("size")
    )
    return np.ceil(exact - RANK_TOLERANCE)


def _group_labels(keys):
    """One label per group whatever the key's type: record ids arrive as
    floats (7.0) from a column with gaps, as ints (7) from stored peers and
    as text ("7") from CSV; no value is the group "no value". On whole
    columns: a million keys at once."""
    keys = pd.Series(keys).astype(object)
    labels = keys.astype(str)
    numbers = pd.to_numeric(keys, errors="coerce")
    whole = numbers.notna() & (numbers == np.floor(numbers))
    labels[whole] = numbers[whole].astype("int64").astype(str)
    labels[keys.isna()] = _NO_GROUP
    return labels


def _top_category_share(customers, tx, limits):
    """Largest share of window revenue coming from one product category."""
    in_window = _in_window(tx["date"].to_numpy(), tx["customer"].to_numpy(), limits)
    lines = tx[in_window & (tx["category_id"] > 0).to_numpy()]
    by_category = lines.groupby(["customer", "category_id"])["amount"].sum()
    best = _money(
        by_category.groupby(level=0).max().reindex(customers.index, fill_value=0.0),
        limits,
    )
    revenue = customers["revenue"]
    customers["top_category_share"] = (best / revenue.where(revenue > 0)).fillna(0.0)


def _profile(customers, limits):
    frequent = customers["visits_365"] >= limits["frequent_visits"]
    has_visit = customers["last_order_date"].notna()
    customers["profile"] = _choose(
        [
            has_visit & (customers["lifetime_visits"] == 1),
            has_visit & (customers["days_since_last"] > limits["dormant_days"]),
            has_visit & frequent & customers["group_tier"].isin(["top10", "top25"]),
            has_visit & frequent,
            has_visit
            & (customers["top_category_share"] >= limits["category_share"] - 1e-9),
            has_visit,
        ],
        ["one_time", "dormant", "valuable", "frequent", "category_focused", "sporadic"],
    )


def _alert_and_action(customers):
    status, profile = customers["status"], customers["profile"]
    at_risk = (status == "at_risk") | (
        (profile == "dormant") & (status != "lost") & status.notna()
    )
    current = status.isin(["new", "active"])
    customers["alert"] = _choose(
        [
            at_risk,
            current & profile.isin(["valuable", "frequent", "one_time"]),
            current & profile.isin(["sporadic", "category_focused"]),
        ],
        ["at_risk", "opportunity", "monitor"],
    )
    customers["action"] = _choose(
        [
            status == "lost",
            customers["alert"] == "at_risk",
            profile == "valuable",
            profile == "frequent",
            profile == "one_time",
            profile == "sporadic",
            profile == "category_focused",
        ],
        [
            "win_back",
            "reactivation",
            "loyalty",
            "cross_sell",
            "starter_offer",
            "seasonal_promo",
            "same_category",
        ],
    )


def _choose(conditions, choices):
    """np.select into an object column with None where nothing applies."""
    conditions = [np.asarray(c, dtype=bool) for c in conditions]
    chosen = np.select(conditions, np.array(choices, dtype=object), default=None)
    return chosen.astype(object)
