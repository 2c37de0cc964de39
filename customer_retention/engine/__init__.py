"""The retention engine: pure pandas, no Odoo.

``compute_metrics(transactions, as_of, settings)`` turns a table of
transactions into one row of retention metrics per (company, customer);
``render_reasons`` explains each row in one sentence. Every business rule of
the addon lives here; the Odoo layer only extracts rows and writes results.
The largest value of each setting is here too (``MAXIMA``,
``CAMPAIGN_MAXIMA``), for the Odoo layer to show.
"""

from .metrics import (
    ACTIONS,
    ALERTS,
    DAILY_COLUMNS,
    METRIC_COLUMNS,
    OVERDUE_STATUSES,
    PROFILES,
    RANK_COLUMNS,
    STATUSES,
    TIERS,
    TRANSACTION_COLUMNS,
    VALUE_COLUMNS,
    compute_metrics,
    daily_figures,
    rerank,
    window_start,
)
from .money import round_money
from .reason import render_reasons
from .settings import (
    MAX_AT_RISK_FACTOR,
    MAX_CURRENCY_DECIMALS,
    MAX_DAYS,
    MAX_FREQUENT_VISITS,
    MAXIMA,
    TREND_PERIOD_DAYS,
    TREND_PERIODS,
    RetentionSettings,
    SettingsError,
)
from .winback import (
    CAMPAIGN_MAXIMA,
    CONTACTED,
    HOLDOUT,
    MAX_BATCH,
    MAX_CAP_DAYS,
    MAX_HOLDOUT_PERCENT,
    MAX_WINBACK_DAYS,
    CampaignSettings,
    holdout_size,
    in_quiet_hours,
    measurement_end,
    quiet_hours_end,
    split_holdout,
    template_for,
    winback_figures,
)

__all__ = [
    "ACTIONS",
    "ALERTS",
    "DAILY_COLUMNS",
    "METRIC_COLUMNS",
    "OVERDUE_STATUSES",
    "PROFILES",
    "RANK_COLUMNS",
    "STATUSES",
    "TIERS",
    "TRANSACTION_COLUMNS",
    "VALUE_COLUMNS",
    "TREND_PERIOD_DAYS",
    "TREND_PERIODS",
    "RetentionSettings",
    "SettingsError",
    "compute_metrics",
    "daily_figures",
    "rerank",
    "window_start",
    "render_reasons",
    "round_money",
    "MAXIMA",
    "MAX_DAYS",
    "MAX_AT_RISK_FACTOR",
    "MAX_FREQUENT_VISITS",
    "MAX_CURRENCY_DECIMALS",
    "CAMPAIGN_MAXIMA",
    "MAX_CAP_DAYS",
    "MAX_WINBACK_DAYS",
    "MAX_BATCH",
    "MAX_HOLDOUT_PERCENT",
    "CONTACTED",
    "HOLDOUT",
    "CampaignSettings",
    "holdout_size",
    "in_quiet_hours",
    "measurement_end",
    "quiet_hours_end",
    "split_holdout",
    "template_for",
    "winback_figures",
]
