"""The retention engine: pure pandas, no Odoo.

``compute_metrics(transactions, as_of, settings)`` turns a table of
transactions into one row of retention metrics per (company, customer);
``render_reasons`` explains each row in one sentence. Every business rule of
the addon lives here; the Odoo layer only extracts rows and writes results.
"""

from .metrics import (
    ACTIONS,
    ALERTS,
    METRIC_COLUMNS,
    PROFILES,
    STATUSES,
    TIERS,
    TRANSACTION_COLUMNS,
    compute_metrics,
)
from .reason import render_reasons
from .settings import TREND_PERIOD_DAYS, RetentionSettings, SettingsError
from .winback import (
    CONTACTED,
    HOLDOUT,
    CampaignSettings,
    holdout_size,
    in_quiet_hours,
    measurement_end,
    quiet_hours_end,
    split_holdout,
    winback_figures,
)

__all__ = [
    "ACTIONS", "ALERTS", "METRIC_COLUMNS", "PROFILES", "STATUSES", "TIERS", "TRANSACTION_COLUMNS",
    "TREND_PERIOD_DAYS", "RetentionSettings", "SettingsError", "compute_metrics", "render_reasons",
    "CONTACTED", "HOLDOUT", "CampaignSettings", "holdout_size", "in_quiet_hours", "measurement_end",
    "quiet_hours_end", "split_holdout", "winback_figures",
]
