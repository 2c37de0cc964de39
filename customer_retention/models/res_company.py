# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import contextlib
import logging
import time

import numpy as np
import pandas as pd

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine import (
    HORIZON_DAYS,
    MODELS,
    NO_PREDICTION,
    RANK_COLUMNS,
    TREND_PERIODS,
    CampaignSettings,
    RetentionSettings,
    compute_metrics,
    daily_figures,
    fit_models,
    model_records,
    rerank,
    score,
)
from ..engine.predict import SAMPLE
from . import retention_history, retention_store, retention_summary
from .engine_text import engine_problems, engine_text
from .res_partner import RETENTION_FIELDS
from .retention_call import MAX_DAILY_CAP

_logger = logging.getLogger(__name__)

_NOTHING_DONE = {
    "customers": 0,
    "written": 0,
    "cleared": 0,
    "chunks": 0,
    "rank_s": 0.0,
    "history_s": 0.0,
    "predict_s": 0.0,  # the outlook: the models' fit and the scoring
    "fit_s": 0.0,  # the models' fit alone
    "extract_s": 0.0,
    "engine_s": 0.0,
    "write_s": 0.0,
    "longest_chunk_s": 0.0,
}


# Written in SQL by a run: what the ORM may hold of them is stale after it.
HISTORY_MODELS = (
    "retention.status.change",
    "retention.report",
    "retention.pulse.week",
    "retention.visit.hour",
    "retention.cohort",
    "retention.status.month",
    "retention.status.flow",
    "retention.partner.category",
    "retention.category.gap",
)
# Years of status history one may keep, and reconstruct month by month.
MAX_HISTORY_YEARS = 20
# Days ahead the chance of return may look (Settings).
MIN_HORIZON_DAYS = 7
MAX_HORIZON_DAYS = 730
# The seed of the sample the models are fitted on: the same customers from
# one night to the next while they stay.
PREDICTION_SEED = 0
# The run's position in its prediction phase once the models are fitted.
_MODELS_FITTED = -1


class RetentionBusyError(UserError):
    """Another recompute of the company is running."""


# res.partner many2one fields that may define a customer's peer group.
GROUP_FIELDS = [
    ("none", "No grouping (whole company)"),
    ("industry_id", "Industry"),
    ("country_id", "Country"),
    ("state_id", "State"),
    ("user_id", "Salesperson"),
    ("team_id", "Sales Team"),
]

# company field -> engine setting: retention_<setting> for the retention
# rules, retention_sms_<setting> for the win-back SMS guardrails.
SETTING_FIELDS = {
    f"retention_{name}": name
    for name in RetentionSettings.names()
    if name != "currency_decimals"  # the company currency's, not a setting
}
CAMPAIGN_SETTING_FIELDS = {
    f"retention_sms_{name}": name for name in CampaignSettings.names()
}


# The company's retention fields (settings, the run's state and errors, the
# outlook's parameters, the calibration) are read by Sales users, who work
# with them, and by Settings administrators, who set them; not by portal
# users nor by internal users without Sales rights (issue 21).
COMPANY_FIGURES = "sales_team.group_sale_salesman,base.group_system"


def _setting(field_class, settings_class, name, string, help_text, **kwargs):
    """A company field for the engine setting ``name``, with the engine's default."""
    return field_class(
        string=string, default=getattr(settings_class, name), help=help_text, **kwargs
    )


class ResCompany(models.Model):
    _inherit = "res.company"

    # Thresholds live on the company, not in ir.config_parameter: several may
    # legitimately be 0 (lookback 0 = all history), which config parameters
    # would store as "unset".
    retention_lookback_days = _setting(
        fields.Integer,
        RetentionSettings,
        "lookback_days",
        "Look-back Window (days)",
        "Only orders of the last N days count for visits, revenue, average "
        "ticket and cadence. 0 uses the whole history.",
        groups=COMPANY_FIGURES,
    )
    retention_new_days = _setting(
        fields.Integer,
        RetentionSettings,
        "new_days",
        "New Customer Period (days)",
        "A customer whose first order is at most this many days old is New.",
        groups=COMPANY_FIGURES,
    )
    retention_at_risk_factor = _setting(
        fields.Float,
        RetentionSettings,
        "at_risk_factor",
        "At-Risk Factor",
        "A customer is At risk when the time since the last order exceeds "
        "this multiple of their usual interval between orders.",
        digits=(16, 2),
        groups=COMPANY_FIGURES,
    )
    retention_min_at_risk_days = _setting(
        fields.Integer,
        RetentionSettings,
        "min_at_risk_days",
        "Minimum Days Before At Risk",
        "Never flag a customer as At risk earlier than this, even if they "
        "usually order every few days.",
        groups=COMPANY_FIGURES,
    )
    retention_dormant_days = _setting(
        fields.Integer,
        RetentionSettings,
        "dormant_days",
        "Dormant After (days)",
        "Without an order for this many days a customer is At risk whatever "
        "their usual interval; also the limit for customers with a single order.",
        groups=COMPANY_FIGURES,
    )
    retention_lost_days = _setting(
        fields.Integer,
        RetentionSettings,
        "lost_days",
        "Lost After (days)",
        "Without an order for this many days a customer counts as Lost.",
        groups=COMPANY_FIGURES,
    )
    retention_trend_period = _setting(
        fields.Selection,
        RetentionSettings,
        "trend_period",
        "Trend Period",
        "The sales trend compares the last period with the one before it.",
        selection=[
            (key, f"{label} ({days} days)") for key, label, days in TREND_PERIODS
        ],
        required=True,
        groups=COMPANY_FIGURES,
    )
    retention_group_field = fields.Selection(
        selection=GROUP_FIELDS,
        string="Peer Group",
        default="country_id",
        required=True,
        help="Customers are ranked (Top 10% / 25% / 50%) against the customers "
        "that share this value.",
        groups=COMPANY_FIGURES,
    )
    retention_frequent_visits = _setting(
        fields.Integer,
        RetentionSettings,
        "frequent_visits",
        "Frequent Customer Visits",
        "A customer with at least this many visits in the last 365 days is "
        "Frequent (or Valuable when also in the top 25% of their group).",
        groups=COMPANY_FIGURES,
    )
    retention_category_share = _setting(
        fields.Float,
        RetentionSettings,
        "category_share",
        "Category-focused Share",
        "A customer who spends at least this share of their revenue in one "
        "product category is Category-focused (0.8 = 80%).",
        digits=(16, 2),
        groups=COMPANY_FIGURES,
    )
    retention_source = fields.Selection(
        selection=[
            ("sale", "Confirmed sales orders"),
            ("invoice", "Posted customer invoices and credit notes"),
            (
                "sale_invoice",
                "Both: sales orders, and invoices and credit notes without an order",
            ),
        ],
        string="Transactions From",
        default="sale",
        required=True,
        help="Sales orders suit shops that sell through quotations; invoices suit "
        "businesses that invoice directly; both suit those that do each. Credit "
        "notes lower revenue but are not visits. With both, the invoices and "
        "credit notes of a sales order count as the order.",
        groups=COMPANY_FIGURES,
    )
    retention_include_pos = fields.Boolean(
        string="Also Count Point-of-Sale Orders",
        help="Point-of-sale orders paid, posted or invoiced are visits of their "
        "customer (refunds lower revenue); orders without a customer are not "
        "counted. Needs the Point of Sale app; without it, nothing is read.",
        groups=COMPANY_FIGURES,
    )
    retention_walk_in_id = fields.Many2one(
        "res.partner",
        string="Walk-in Customer",
        help='The anonymous customer of the till or the counter ("Retail"): its '
        "orders belong to nobody in particular and never count for retention.",
        groups=COMPANY_FIGURES,
    )
    retention_ticket_band_width = fields.Float(
        string="Average Ticket Band Width",
        default=500.0,
        digits=(16, 2),
        help="Customers are grouped by average ticket in bands this wide, in the "
        "company currency (500: 0-500, 500-1000...).",
        groups=COMPANY_FIGURES,
    )
    retention_cutoff_date = fields.Date(
        string="Last Order Cut-off Date",
        help="Customers are split by whether their last order came before or after "
        "this day: text only those served before a promotion started, say.",
        groups=COMPANY_FIGURES,
    )
    retention_history_years = fields.Integer(
        string="Retention History (years)",
        default=3,
        help="Status changes older than this are deleted every night, and the "
        "customers by status of the months before the addon was installed are "
        "reconstructed this far back.",
        groups=COMPANY_FIGURES,
    )
    retention_report_until = fields.Datetime(
        string="Retention Analysis Updated Until",
        readonly=True,
        copy=False,
        help="Start of the last run that brought Retention Analysis up to date: the "
        "next one rewrites only the customers whose orders changed since.",
        groups=COMPANY_FIGURES,
    )
    retention_months_built = fields.Boolean(
        string="Past Months Reconstructed",
        readonly=True,
        copy=False,
        help="The customers by status at the end of the past months were "
        "reconstructed from the order history.",
        groups=COMPANY_FIGURES,
    )
    retention_last_run = fields.Datetime(
        string="Last Retention Recompute",
        readonly=True,
        copy=False,
        help="When the last full recompute started (as of today in the company's time "
        "zone; back-tests excluded).",
        groups=COMPANY_FIGURES,
    )
    retention_last_attempt = fields.Datetime(
        string="Last Retention Attempt",
        readonly=True,
        copy=False,
        help="When the daily job last tried this company, successfully or not.",
        groups=COMPANY_FIGURES,
    )
    retention_last_error = fields.Text(
        string="Last Retention Error",
        readonly=True,
        copy=False,
        help="Why the last attempt of the daily job failed; empty after a successful "
        "run.",
        groups=COMPANY_FIGURES,
    )
    retention_recompute_requested = fields.Boolean(
        readonly=True,
        copy=False,
        help="An administrator asked for a recompute: the daily job runs it in the "
        "background as soon as it can.",
        groups=COMPANY_FIGURES,
    )
    retention_changed_until = fields.Datetime(
        string="Changed Customers Updated Until",
        readonly=True,
        copy=False,
        help="Start of the last run that brought the customers whose orders changed up "
        "to date.",
        groups=COMPANY_FIGURES,
    )
    # The whole-company run goes chunk by chunk, each committed: these say
    # where the run in progress is, so that an interrupted run resumes at
    # its next chunk.
    retention_run_as_of = fields.Date(
        string="Retention Run Day",
        readonly=True,
        copy=False,
        help="Day of the whole-company recompute in progress; empty when none is.",
        groups=COMPANY_FIGURES,
    )
    retention_run_phase = fields.Selection(
        selection=[
            ("fit", "Fitting the outlook's models"),
            ("compute", "Computing values"),
            ("rank", "Ranking customers"),
            ("predict", "Predicting returns"),
            ("history", "Updating Retention Analysis"),
        ],
        readonly=True,
        copy=False,
        groups=COMPANY_FIGURES,
    )
    retention_run_cursor = fields.Integer(
        string="Retention Run Position",
        readonly=True,
        copy=False,
        help="Highest customer id that the phase in progress has done.",
        groups=COMPANY_FIGURES,
    )
    retention_run_started = fields.Datetime(
        readonly=True, copy=False, groups=COMPANY_FIGURES
    )
    retention_run_written = fields.Integer(
        string="Customers Updated by the Last Run",
        readonly=True,
        copy=False,
        help="Customers whose values changed in the recompute in progress, or in the "
        "last one: the others were left untouched.",
        groups=COMPANY_FIGURES,
    )

    # The outlook (engine/predict.py): the models fitted by the nightly run.
    retention_predict_horizon_days = fields.Integer(
        string="Chance of Return Horizon (days)",
        default=HORIZON_DAYS,
        help="The chance of return is the chance of at least one visit within this "
        "many days; the next nightly run fits the models for it.",
        groups=COMPANY_FIGURES,
    )
    retention_prediction_params = fields.Json(
        string="Prediction Models",
        readonly=True,
        copy=False,
        help="The models fitted by the last nightly run, with which every customer "
        "is scored until the next one.",
        groups=COMPANY_FIGURES,
    )
    retention_prediction_fitted_at = fields.Datetime(
        string="Prediction Models Fitted On",
        readonly=True,
        copy=False,
        groups=COMPANY_FIGURES,
    )
    retention_prediction_model = fields.Selection(
        list(MODELS),
        string="Prediction Model Used",
        readonly=True,
        copy=False,
        groups=COMPANY_FIGURES,
    )
    retention_prediction_no_model = fields.Selection(
        list(NO_PREDICTION),
        string="Why No Prediction Model",
        readonly=True,
        copy=False,
        groups=COMPANY_FIGURES,
    )
    retention_prediction_bgnbd_auc = fields.Float(
        string="BG/NBD AUC",
        digits=(16, 2),
        readonly=True,
        copy=False,
        groups=COMPANY_FIGURES,
    )
    retention_prediction_rhythm_auc = fields.Float(
        string="Rhythm Model AUC",
        digits=(16, 2),
        readonly=True,
        copy=False,
        groups=COMPANY_FIGURES,
    )
    retention_prediction_summary = fields.Char(
        string="Model Used",
        compute="_compute_retention_prediction_summary",
        help="The model that gives the chance of return, and how well each model "
        "told, on the company's own past, who came back (AUC: 0.5 is a coin toss, "
        "1 is always right).",
        groups=COMPANY_FIGURES,
    )

    retention_sms_cap_days = _setting(
        fields.Integer,
        CampaignSettings,
        "cap_days",
        "SMS Frequency Cap (days)",
        "A customer texted by a win-back SMS campaign (or kept in its control "
        "group) is not "
        "texted again for this many days. 0 disables the cap.",
        groups=COMPANY_FIGURES,
    )
    retention_sms_quiet_start = _setting(
        fields.Float,
        CampaignSettings,
        "quiet_start",
        "Quiet Hours From",
        "SMS queued from this hour (company time zone) are held until the quiet "
        "hours end.",
        groups=COMPANY_FIGURES,
    )
    retention_sms_quiet_end = _setting(
        fields.Float,
        CampaignSettings,
        "quiet_end",
        "Quiet Hours Until",
        "Held SMS go to the outgoing queue at this hour. Equal to the start: no "
        "quiet hours.",
        groups=COMPANY_FIGURES,
    )
    retention_sms_max_batch = _setting(
        fields.Integer,
        CampaignSettings,
        "max_batch",
        "Maximum SMS per Campaign",
        "A campaign that would text more customers is refused: narrow the "
        "selection. 0: no limit.",
        groups=COMPANY_FIGURES,
    )
    retention_sms_holdout_percent = _setting(
        fields.Float,
        CampaignSettings,
        "holdout_percent",
        "Control Group (%)",
        "Share of the eligible customers kept out of each campaign at random, and "
        "not texted, "
        "to measure what the SMS really changed. 0: no control group.",
        digits=(16, 1),
        groups=COMPANY_FIGURES,
    )
    retention_sms_winback_days = _setting(
        fields.Integer,
        CampaignSettings,
        "winback_days",
        "Win-back Window (days)",
        "A texted customer who orders within this many days after the SMS counts "
        "as won back.",
        groups=COMPANY_FIGURES,
    )

    retention_sms_last_campaign = fields.Datetime(
        string="Last Win-back SMS Campaign",
        readonly=True,
        copy=False,
        help="Stamped by every campaign: two campaigns of the company never run at the "
        "same time.",
        groups=COMPANY_FIGURES,
    )

    # Win-back calls (retention_call.py)
    retention_call_daily_cap = fields.Integer(
        string="Win-back Calls per Salesperson per Day",
        default=20,
        help="At most this many win-back calls are planned for one salesperson on one "
        "day; the others wait for the next days. 0: no limit.",
        groups=COMPANY_FIGURES,
    )
    retention_call_plan_auto = fields.Boolean(
        string="Plan Win-back Calls Every Night",
        help="After the nightly recompute, a Call activity is planned for every "
        "customer who became at risk, assigned to their salesperson.",
        groups=COMPANY_FIGURES,
    )
    retention_call_plan_since = fields.Date(
        string="Win-back Calls Planned Since",
        readonly=True,
        copy=False,
        help="Customers who became at risk from this day on are planned a call "
        "automatically; set by the first planning.",
        groups=COMPANY_FIGURES,
    )
    retention_calls_planned_at = fields.Datetime(
        string="Last Win-back Call Planning",
        readonly=True,
        copy=False,
        help="When the last automatic planning of win-back calls ended.",
        groups=COMPANY_FIGURES,
    )

    def _retention_settings(self, fixed=False):
        """The engine's view of this company's thresholds: in calibrated
        mode with the calibrated ones, unless ``fixed``."""
        self.ensure_one()
        settings = RetentionSettings(
            currency_decimals=self.currency_id.decimal_places,
            **{attr: self[fname] for fname, attr in SETTING_FIELDS.items()},
        )
        return settings if fixed else self._retention_with_calibrated(settings)

    @api.depends(
        "retention_prediction_model",
        "retention_prediction_no_model",
        "retention_prediction_bgnbd_auc",
        "retention_prediction_rhythm_auc",
        "retention_prediction_fitted_at",
    )
    def _compute_retention_prediction_summary(self):
        # Short names: the selection's labels explain each model at length.
        names = {"bgnbd": "BG/NBD", "rhythm": self.env._("rhythm")}
        reasons = dict(NO_PREDICTION)
        for company in self:
            model = company.retention_prediction_model
            auc = {
                "bgnbd": company.retention_prediction_bgnbd_auc,
                "rhythm": company.retention_prediction_rhythm_auc,
            }
            if not company.retention_prediction_fitted_at:
                summary = self.env._("Not fitted yet: the next nightly run fits it.")
            elif not model:
                summary = engine_text(
                    self.env, reasons.get(company.retention_prediction_no_model, "")
                )
            elif not (auc["bgnbd"] and auc["rhythm"]):
                summary = self.env._(
                    "%(model)s (not back-tested: too little history to compare)",
                    model=names[model],
                )
            else:
                other = "rhythm" if model == "bgnbd" else "bgnbd"
                summary = self.env._(
                    "%(model)s (AUC %(auc)s against %(other)s %(other_auc)s)",
                    model=names[model],
                    auc=format(auc[model], ".2f"),
                    other=names[other],
                    other_auc=format(auc[other], ".2f"),
                )
            company.retention_prediction_summary = summary

    def _retention_prediction_horizon(self):
        """The days the stored chances of return look ahead: those the
        models were fitted for (None without models)."""
        self.ensure_one()
        # sudo: the run's own models, read to word the customers' reasons
        params = self.sudo().retention_prediction_params
        return params.get("horizon_days") if params else None

    # ------------------------------------------------------------
    # Dates: a company's "today" is on its own clock
    # ------------------------------------------------------------

    def _retention_local_date(self, utc_datetime):
        """The day, on this company's clock, of a stored (UTC) datetime."""
        self.ensure_one()
        tz = retention_store.company_timezone(self)
        return fields.Datetime.context_timestamp(
            self.with_context(tz=tz), utc_datetime
        ).date()

    def _retention_today(self, now=None):
        return self._retention_local_date(now or fields.Datetime.now())

    def _retention_as_of(self, as_of):
        """``as_of`` as a date (today when empty); a UserError for anything
        that is not a date up to the company's today."""
        today = self._retention_today()
        if not as_of:
            return today
        try:
            day = fields.Date.to_date(as_of)
        except (TypeError, ValueError):
            day = None
        if not day:
            raise UserError(
                self.env._(
                    "%(value)s is not a date: give the reference day as YYYY-MM-DD.",
                    value=as_of,
                )
            )
        if day > today:
            raise UserError(
                self.env._(
                    "Customer retention cannot be computed as of %(day)s, later than "
                    "today (%(today)s) in %(company)s: orders of the future are "
                    "unknown.",
                    day=day,
                    today=today,
                    company=self.name,
                )
            )
        return day

    # ------------------------------------------------------------
    # Recompute
    # ------------------------------------------------------------

    def _retention_recompute(
        self, as_of=None, partner_ids=None, commit_batches=False, lock_wait=0.0
    ):
        """Recompute this company at once: all its customers, chunk by chunk
        after one pass that ranks them all, or only ``partner_ids``
        (commercial partners), ranked then against the stored revenue of the
        others in their groups. Never two at once for one company: the run
        waits up to ``lock_wait`` seconds for another one to end, then
        raises RetentionBusyError. ``commit_batches`` (scripts, outside
        tests) commits each chunk. The daily job does not call this: it
        works in bounded steps (``_retention_run_step``)."""
        self.ensure_one()
        as_of = self._retention_as_of(as_of)
        commit = commit_batches and not retention_store.testing()
        with self._retention_locked(lock_wait):
            return self._retention_recompute_locked(as_of, partner_ids, commit)

    @contextlib.contextmanager
    def _retention_locked(self, lock_wait):
        """Hold the company's recompute lock, or raise RetentionBusyError
        after ``lock_wait`` seconds."""
        try:
            with retention_store.company_lock(self.env.cr, self.id, wait=lock_wait):
                yield
        except retention_store.RecomputeBusy:
            raise RetentionBusyError(
                self.env._(
                    "Customer retention of %(company)s is being recomputed right now: "
                    "try again in a few minutes.",
                    company=self.name,
                )
            ) from None

    def _retention_recompute_locked(self, as_of, partner_ids, commit):
        if partner_ids is not None:
            return self._retention_recompute_partners(as_of, partner_ids)
        stats = dict(_NOTHING_DONE)
        self._retention_run_begin(as_of, commit, stats)
        while not self._retention_run_chunk(commit, stats):
            pass
        self._retention_log(as_of, stats)
        return stats

    def _retention_recompute_partners(self, as_of, partner_ids):
        """Recompute ``partner_ids`` only, ranked against the stored revenue
        of the others in their groups."""
        started = time.perf_counter()
        settings = self._retention_settings()
        now = fields.Datetime.now().replace(microsecond=0)
        # The extract reads with SQL: pending ORM writes must reach the database.
        self.env.flush_all()
        transactions = retention_store.extract_transactions(
            self, as_of, partner_ids=partner_ids
        )
        extracted = time.perf_counter()
        groups = retention_store.extract_groups(
            self, transactions["partner_id"].unique()
        )
        peers = retention_store.extract_peer_revenue(
            self, groups, exclude_ids=partner_ids
        )
        metrics = compute_metrics(
            transactions, as_of, settings, groups=groups, peers=peers
        )
        computed = time.perf_counter()
        # A recompute asked for these customers stamps them all: "computed on"
        # shows it happened even where nothing changed.
        history_day = self._retention_history_day(as_of)
        written = retention_store.write_metrics(
            self, metrics, now, rewrite=True, history_day=history_day
        )
        cleared = retention_store.clear_stale(
            self,
            metrics["partner_id"].to_numpy(),
            partner_ids=partner_ids,
            history_day=history_day,
        )
        if as_of == self._retention_today():
            # The summary is of today (a back-test as of a past day leaves it).
            visits = retention_history.extract_visits(
                self, as_of, partner_ids=partner_ids
            )
            retention_summary.write(self, visits, partner_ids=partner_ids)
            # With the models of the last run: a fit is the nightly run's.
            scoring = time.perf_counter()
            self._retention_score(as_of, transactions=transactions, metrics=metrics)
            predict_s = time.perf_counter() - scoring
            for model in ("retention.partner.category", "retention.partner.state"):
                self.env[model].invalidate_model()
        else:
            predict_s = 0.0
        self.env["res.partner"].invalidate_model(RETENTION_FIELDS)
        stats = dict(
            _NOTHING_DONE,
            customers=len(metrics),
            written=written,
            cleared=cleared,
            chunks=1,
            predict_s=predict_s,
            extract_s=extracted - started,
            engine_s=computed - extracted,
            write_s=time.perf_counter() - computed - predict_s,
        )
        stats["longest_chunk_s"] = time.perf_counter() - started
        self._retention_log(as_of, stats)
        return stats

    def _retention_history_day(self, as_of):
        """The day the status changes of a recompute as of ``as_of`` are
        recorded on, or None: not before the company's first whole run (its
        customers' first statuses are no change; the months before are
        reconstructed from the orders, see retention.status.month)."""
        return as_of if self.retention_last_run else None

    def _retention_run_begin(self, as_of, commit, stats):
        """Start a whole-company run as of ``as_of``, before its first chunk."""
        self.env.flush_all()
        # sudo: the run's own bookkeeping on the company, whoever started it
        # Today's run fits the outlook's models first, so that each chunk of
        # values is scored with the transactions it has just read.
        today = as_of == self._retention_today()
        self.sudo().write(
            {
                "retention_run_as_of": as_of,
                "retention_run_phase": "fit" if today else "compute",
                "retention_run_cursor": 0,
                "retention_run_started": fields.Datetime.now().replace(microsecond=0),
                "retention_run_written": 0,
            }
        )
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _retention_run_chunk(self, commit, stats):
        """Do the next step of the run in progress and move the run past it,
        committed with it: an interrupted run resumes at the next step.
        First the customers' values, chunk by chunk, each chunk with its
        customers' stored ranks; then everybody ranked again at once (peer
        ranks need everybody's revenue), from the stored rows alone. Returns
        whether the run ended."""
        started = time.perf_counter()
        finished = False
        if self.retention_run_phase == "rank":
            values = self._retention_run_rank(stats)
            if not values["retention_run_phase"]:
                values.update(self._retention_run_end_values())
                finished = True
        elif self.retention_run_phase == "predict":
            values = self._retention_run_predict(stats)
        elif self.retention_run_phase == "fit":
            values = self._retention_run_fit(stats)
        elif self.retention_run_phase == "history":
            chunk = retention_store.next_chunk(
                self, self.retention_run_cursor, retention_store.CHUNK_HISTORY
            )
            values = self._retention_run_history(chunk, stats)
            if chunk[1] is None:
                values.update(self._retention_run_end_values())
                finished = True
        else:
            chunk = retention_store.next_chunk(
                self, self.retention_run_cursor, retention_store.CHUNK_CUSTOMERS
            )
            values = self._retention_run_compute(chunk, stats)
        self.sudo().write(values)  # sudo: the run's own bookkeeping
        self.env["res.partner"].invalidate_model(RETENTION_FIELDS)
        for model in HISTORY_MODELS:
            # written in SQL by the step
            self.env[model].invalidate_model()
        if commit:
            # One step, one transaction.
            self.env.cr.commit()  # pylint: disable=invalid-commit
        stats["chunks"] += 1
        stats["longest_chunk_s"] = max(
            stats["longest_chunk_s"], time.perf_counter() - started
        )
        return finished

    def _retention_run_compute(self, chunk, stats):
        """Compute and write the customers of ``chunk``; after the last
        chunk, the run goes on to ranking."""
        started = time.perf_counter()
        as_of = self.retention_run_as_of
        transactions = retention_store.extract_transactions(self, as_of, chunk=chunk)
        ranks = retention_store.stored_ranks(self, chunk)
        settings = self._retention_settings()
        groups = self._retention_status_groups(
            settings, transactions["partner_id"].unique()
        )
        extracted = time.perf_counter()
        metrics = compute_metrics(
            transactions, as_of, settings, groups=groups, ranks=ranks
        )
        computed = time.perf_counter()
        now = fields.Datetime.now().replace(microsecond=0)
        history_day = self._retention_history_day(as_of)
        written = retention_store.write_metrics(
            self, metrics, now, history_day=history_day
        )
        cleared = retention_store.clear_stale(
            self, metrics["partner_id"].to_numpy(), chunk=chunk, history_day=history_day
        )
        if self._retention_models_fitted():
            # The outlook from the transactions just read: no second extract.
            scoring = time.perf_counter()
            self._retention_score(as_of, transactions=transactions, metrics=metrics)
            stats["predict_s"] += time.perf_counter() - scoring
            computed += time.perf_counter() - scoring
        del transactions
        stats.update(
            customers=stats["customers"] + len(metrics),
            written=stats["written"] + written,
            cleared=stats["cleared"] + cleared,
            extract_s=stats["extract_s"] + extracted - started,
            engine_s=stats["engine_s"] + computed - extracted,
            write_s=stats["write_s"] + time.perf_counter() - computed,
        )
        values = {"retention_run_written": self.retention_run_written + written}
        if chunk[1] is None:
            values.update(retention_run_phase="rank", retention_run_cursor=0)
        else:
            values["retention_run_cursor"] = chunk[1]
        return values

    def _retention_run_rank(self, stats):
        """Rank every stored customer again, together, and write the rows
        whose rank, tier, profile, alert or action changed; end the run."""
        started = time.perf_counter()
        as_of = self.retention_run_as_of
        rows, groups = retention_store.rank_inputs(self)
        ranked = rerank(rows, as_of, self._retention_settings(), groups=groups)
        changed = np.zeros(len(ranked), dtype=bool)
        for column in RANK_COLUMNS:
            before = rows[column].astype(object).to_numpy()
            after = ranked[column].astype(object).to_numpy()
            changed |= ~((before == after) | (pd.isna(before) & pd.isna(after)))
        del rows
        now = fields.Datetime.now().replace(microsecond=0)
        _written, fresh = retention_store.write_ranks(
            self, ranked[changed], now, self.retention_run_started
        )
        stats["written"] += fresh
        stats["rank_s"] += time.perf_counter() - started
        # The outlook and Retention Analysis are of today: a back-test as of
        # a past day ends here. The chunks scored the customers with the
        # models fitted first; without them (the first night, no customer
        # stored to fit on yet) the outlook is a phase of its own.
        next_phase = False
        if as_of == self._retention_today():
            next_phase = "history" if self._retention_models_fitted() else "predict"
        return {
            "retention_run_written": self.retention_run_written + fresh,
            "retention_run_phase": next_phase,
            "retention_run_cursor": 0,
        }

    def _retention_run_fit(self, stats):
        """The first step of today's run: fit the outlook's models on a
        sample of the stored customers, then go on to the values."""
        started = time.perf_counter()
        values = {"retention_run_phase": "compute", "retention_run_cursor": 0}
        sample = retention_store.sample_customers(self, SAMPLE, PREDICTION_SEED)
        if sample:
            values.update(
                self._retention_fit_models(self.retention_run_as_of, sample=sample)
            )
        stats["fit_s"] += time.perf_counter() - started
        stats["predict_s"] += time.perf_counter() - started
        return values

    def _retention_models_fitted(self):
        """Whether the run in progress fitted the outlook's models."""
        # sudo: the run's own bookkeeping
        company = self.sudo()
        return bool(
            company.retention_prediction_params
            and company.retention_prediction_fitted_at
            and company.retention_run_started
            and company.retention_prediction_fitted_at >= company.retention_run_started
        )

    def _retention_run_predict(self, stats):
        """The outlook of the run: first the models, fitted on a seeded
        sample of the customers and kept on the company; then, chunk by
        chunk, every customer scored with them. The run goes on to Retention
        Analysis after the last chunk."""
        started = time.perf_counter()
        if not self.retention_run_cursor:
            values = self._retention_fit_models(self.retention_run_as_of)
            # Below every id: the models are fitted, no customer scored yet.
            values["retention_run_cursor"] = _MODELS_FITTED
            stats["fit_s"] += time.perf_counter() - started
        else:
            chunk = retention_store.next_chunk(
                self, self.retention_run_cursor, retention_store.CHUNK_CUSTOMERS
            )
            self._retention_score(self.retention_run_as_of, chunk=chunk)
            if chunk[1] is None:
                values = {"retention_run_phase": "history", "retention_run_cursor": 0}
            else:
                values = {"retention_run_cursor": chunk[1]}
        stats["predict_s"] += time.perf_counter() - started
        return values

    def _retention_fit_models(self, as_of, sample=None):
        """Fit the company's models as of ``as_of`` on up to SAMPLE of its
        customers (the same ones night after night while they stay; those of
        ``sample`` when the caller has drawn them); the company's values
        that keep them."""
        if sample is None:
            sample = retention_store.sample_customers(self, SAMPLE, PREDICTION_SEED)
        transactions = retention_store.extract_transactions(
            self, as_of, partner_ids=sample
        )
        horizon = self.retention_predict_horizon_days
        models = fit_models(
            transactions, as_of, self._retention_settings(), horizon_days=horizon
        )
        del transactions
        records = model_records(models)
        params = records[0] if records else {}
        # No customer at all is too few customers too.
        params = {
            "company_id": self.id,
            "no_prediction": "too_few_customers",
            "horizon_days": horizon,
            **params,
        }
        return {
            "retention_prediction_params": params,
            "retention_prediction_fitted_at": fields.Datetime.now(),
            "retention_prediction_model": params.get("model") or False,
            "retention_prediction_no_model": params.get("no_prediction") or False,
            "retention_prediction_bgnbd_auc": params.get("bgnbd_auc") or 0.0,
            "retention_prediction_rhythm_auc": params.get("rhythm_auc") or 0.0,
        }

    def _retention_score(self, as_of, chunk=None, transactions=None, metrics=None):
        """Score the customers of ``chunk`` (or those of ``transactions``,
        with their ``metrics`` rows) with the company's stored models and
        write their outlook where it changed; returns the rows written.
        Nothing without models."""
        # sudo: the run's own models
        params = self.sudo().retention_prediction_params
        if not params:
            return 0
        if transactions is None:
            transactions = retention_store.extract_transactions(
                self, as_of, chunk=chunk
            )
        if metrics is None and params.get("model") == "rhythm":
            # The rhythm model's features are the rows the run just stored.
            metrics = daily_figures(
                retention_store.stored_features(self, chunk=chunk), as_of
            )
        predictions = score(
            transactions, as_of, [params], self._retention_settings(), metrics=metrics
        )
        return retention_store.write_predictions(self, predictions)

    def _retention_run_history(self, chunk, stats):
        """Bring Retention Analysis up to date for the customers of
        ``chunk``: their period report rows where their orders changed since
        the last run (all of them the first time), their share of the pulse
        tables, and the first time, their statuses at the past month ends.
        After the last chunk, the tables are summed and swapped in."""
        started = time.perf_counter()
        as_of = self.retention_run_as_of
        if not chunk[0]:
            retention_history.begin(self)
        visits = retention_history.extract_visits(self, as_of, chunk=chunk)
        refresh = None
        if self.retention_report_until:
            refresh = retention_store.changed_customers(
                self, self.retention_report_until, chunk=chunk
            )
        retention_history.refresh_report(
            self, visits, as_of, partner_ids=refresh, chunk=chunk
        )
        retention_history.add_pulse(self, visits)
        retention_summary.write(self, visits, chunk=chunk)
        del visits
        if not self.retention_months_built:
            days = retention_history.months_to_rebuild(
                self, as_of, self.retention_history_years
            )
            if days:
                transactions = retention_store.extract_transactions(
                    self, as_of, chunk=chunk
                )
                settings = self._retention_settings()
                retention_history.add_status_months(
                    self,
                    transactions,
                    days,
                    settings,
                    groups=self._retention_status_groups(
                        settings, transactions["partner_id"].unique()
                    ),
                )
        if chunk[1] is not None:
            stats["history_s"] += time.perf_counter() - started
            return {"retention_run_cursor": chunk[1]}
        retention_history.settle_report(self, as_of)
        retention_summary.rebuild_category_gap(self)
        retention_history.finish(
            self, as_of, rebuilt_months=not self.retention_months_built
        )
        self.env["retention.status.change"]._purge(
            self, self.retention_history_years, as_of
        )
        stats["history_s"] += time.perf_counter() - started
        return {
            "retention_report_until": self.retention_run_started,
            "retention_months_built": True,
        }

    def _retention_run_end_values(self):
        """The company's values when its run ends."""
        values = {
            "retention_run_as_of": False,
            "retention_run_phase": False,
            "retention_run_cursor": 0,
        }
        if self.retention_run_as_of == self._retention_today():
            # A back-test as of a past day is no run of today.
            values.update(
                retention_last_run=self.retention_run_started,
                retention_changed_until=self.retention_run_started,
            )
        return values

    def _retention_run_step(self, budget, lock_wait=0.0, stats=None, as_of=None):
        """The daily job's unit of work on this company: begin the run of
        ``as_of`` (today) if it is not in progress, or resume it, then
        compute chunks until the run ends or ``budget`` seconds have passed.
        Returns whether the run is finished; ``stats`` adds up its figures."""
        self.ensure_one()
        stats = stats if stats is not None else dict(_NOTHING_DONE)
        commit = not retention_store.testing()
        deadline = time.monotonic() + budget
        with self._retention_locked(lock_wait):
            day = as_of or self._retention_today()
            if self.retention_run_as_of != day:
                # none in progress, or one left over from an earlier day
                self._retention_run_begin(day, commit, stats)
            longest = 0.0
            while True:
                chunk_started = time.monotonic()
                if self._retention_run_chunk(commit, stats):
                    self._retention_log(day, stats)
                    return True
                now = time.monotonic()
                longest = max(longest, now - chunk_started)
                # Stop before a chunk that would likely end past the budget.
                if now + longest >= deadline:
                    self._retention_log(day, stats, finished=False)
                    return False

    def _retention_log(self, as_of, stats, finished=True):
        _logger.info(
            "Customer retention of %(company)s as of %(as_of)s%(state)s: "
            "%(customers)d customers in %(chunks)d step(s), %(written)d written, "
            "%(cleared)d cleared (ranks %(rank_s).2fs, outlook %(predict_s).2fs, "
            "analysis %(history_s).2fs, extract %(extract_s).2fs, "
            "engine %(engine_s).2fs, write %(write_s).2fs, longest step "
            "%(longest_chunk_s).2fs)",
            dict(
                stats,
                company=self.name,
                as_of=as_of,
                state="" if finished else " (run goes on in the next call)",
            ),
        )

    def _retention_recompute_changed(self, as_of=None, lock_wait=0.0):
        """Recompute only the customers whose orders changed since the last
        run (new, edited or cancelled orders); their ranks are taken against
        the stored revenue of the others, and the next full recompute makes
        every rank exact again. Without a full run yet, recompute everything."""
        self.ensure_one()
        if not self.retention_last_run:
            return self._retention_recompute(as_of, lock_wait=lock_wait)
        started = fields.Datetime.now().replace(microsecond=0)
        self.env.flush_all()
        since = self.retention_changed_until or self.retention_last_run
        changed = retention_store.changed_customers(self, since)
        stats = dict(_NOTHING_DONE)
        if changed:
            stats = self._retention_recompute(
                as_of, partner_ids=changed, lock_wait=lock_wait
            )
        # sudo: the hourly job's own watermark on the company
        self.sudo().retention_changed_until = started
        return stats

    def _retention_request_recompute(self):
        """Hand a whole-company recompute to the daily job, which runs it in
        the background with committed batches and progress, instead of
        running it inside a web request."""
        # sudo: a request flag on the company and a trigger of the addon's own cron
        self.sudo().retention_recompute_requested = True
        self.env.ref("customer_retention.ir_cron_retention_recompute").sudo()._trigger()

    def _retention_due(self, now):
        """Whether the daily job still has to work on this company today."""
        self.ensure_one()
        return (
            self.retention_recompute_requested
            or bool(self.retention_run_as_of)
            or not self.retention_last_attempt
            or self._retention_local_date(self.retention_last_attempt)
            < self._retention_today(now)
        )

    @api.model
    def _cron_retention_recompute(self):
        """Daily job. Each call is one bounded unit of work: one company,
        those an administrator asked for first, whose run it begins or
        resumes for at most CRON_BUDGET seconds, committed chunk by chunk.
        Then, if anything is left, the job triggers itself: the next call is
        a new unit of work for the server. (Odoo's runner would call a job
        that reports work remaining up to 10 times in one unit of work, and a
        multi-worker server kills a unit that runs past limit_time_real.) An
        interrupted call keeps its committed chunks; the next one resumes.
        A company that fails is logged, marked with its error and skipped
        until tomorrow; the others go on. A company busy with another
        recompute is retried a few minutes later."""
        now = fields.Datetime.now()
        todo = self.search([], order="id").filtered(
            lambda company: company._retention_due(now)
        )
        todo = todo.sorted(
            lambda company: (
                not company.retention_recompute_requested,
                not company.retention_run_as_of,
            )
        )
        cron = self.env.ref("customer_retention.ir_cron_retention_recompute")
        committing = not retention_store.testing()
        for company in todo:
            finished = True
            try:
                with retention_store.isolated(self.env.cr, committing):
                    finished = company._retention_run_step(
                        retention_store.CRON_BUDGET,
                        lock_wait=retention_store.CRON_LOCK_WAIT,
                    )
            except RetentionBusyError:
                _logger.info(
                    "Customer retention of %s: busy with another recompute, retried "
                    "later",
                    company.name,
                )
                cron._trigger(fields.Datetime.now() + retention_store.BUSY_RETRY)
                continue
            except Exception as error:  # noqa: BLE001 (one company's failure must not stop the others)
                _logger.exception("Customer retention of %s failed", company.name)
                company.write(company._retention_attempt_values(now, error))
            else:
                if finished:
                    company.write(company._retention_attempt_values(now))
                    company._retention_calls_after_run()
            if not finished or len(todo) > 1:
                cron._trigger()
            self.env["ir.cron"]._notify_progress(done=1, remaining=0)
            return
        self.env["ir.cron"]._notify_progress(done=0, remaining=0)

    def _retention_attempt_values(self, now, error=None):
        values = {
            "retention_last_attempt": now,
            "retention_last_error": error and f"{type(error).__name__}: {error}",
            "retention_recompute_requested": False,
        }
        if error:
            # A run that failed is dropped, not resumed in a loop: tomorrow's
            # run starts again (a killed worker raises nothing and resumes).
            values.update(retention_run_as_of=False, retention_run_phase=False)
        return values

    @api.model
    def _cron_retention_recompute_changed(self):
        """Hourly job: bring the customers whose orders changed since the
        last run up to date, one company per call, committed after each
        call like the daily job (the full run itself is left to the daily
        job, also for companies never computed). A company busy with
        another recompute waits for the next hour; one that fails is logged
        and the others go on."""
        now = fields.Datetime.now()
        due = self.search(
            [
                ("retention_last_run", "!=", False),
                # the run in progress brings them up to date
                ("retention_run_as_of", "=", False),
                "|",
                ("retention_changed_until", "=", False),
                ("retention_changed_until", "<", now - retention_store.HOURLY_SLACK),
            ],
            order="retention_changed_until, id",
        )
        committing = not retention_store.testing()
        for index, company in enumerate(due):
            try:
                with retention_store.isolated(self.env.cr, committing):
                    company._retention_recompute_changed()
            except RetentionBusyError:
                continue
            except Exception:  # noqa: BLE001 (one company's failure must not stop the others)
                _logger.exception(
                    "Customer retention of %s: hourly update failed", company.name
                )
                company.retention_changed_until = now
            self.env["ir.cron"]._notify_progress(done=1, remaining=len(due) - index - 1)
            return
        self.env["ir.cron"]._notify_progress(done=0, remaining=0)

    @api.constrains("retention_ticket_band_width")
    def _check_retention_ticket_band_width(self):
        for company in self:
            if company.retention_ticket_band_width <= 0:
                raise ValidationError(
                    self.env._(
                        "The average ticket band width of %(company)s must be more "
                        "than 0, in the company currency (500, say).",
                        company=company.name,
                    )
                )

    def _retention_plan_calls(self, limit_per_user=None, partners=None, planner=None):
        """Plan win-back calls in this company (retention.call._plan): for
        the customers who became at risk, or for ``partners``; returns the
        counts of planned and skipped customers."""
        self.ensure_one()
        return self.env["retention.call"]._plan(
            self, partners=partners, cap=limit_per_user, planner=planner
        )

    def _retention_calls_after_run(self):
        """The company's nightly run ended: its calls are planned next."""
        if self.retention_call_plan_auto:
            # sudo: a trigger of the addon's own job
            cron = self.env.ref("customer_retention.ir_cron_retention_plan_calls")
            cron.sudo()._trigger()

    @api.constrains("retention_call_daily_cap")
    def _check_retention_call_daily_cap(self):
        for company in self:
            if not 0 <= company.retention_call_daily_cap <= MAX_DAILY_CAP:
                raise ValidationError(
                    self.env._(
                        "The daily limit of win-back calls per salesperson of "
                        "%(company)s must be between 0 and %(maximum)s (0: no limit).",
                        company=company.name,
                        maximum=MAX_DAILY_CAP,
                    )
                )

    @api.constrains("retention_predict_horizon_days")
    def _check_retention_predict_horizon_days(self):
        for company in self:
            days = company.retention_predict_horizon_days
            if not MIN_HORIZON_DAYS <= days <= MAX_HORIZON_DAYS:
                raise ValidationError(
                    self.env._(
                        "The chance of return of %(company)s must look between "
                        "%(minimum)s and %(maximum)s days ahead (90 by default).",
                        company=company.name,
                        minimum=MIN_HORIZON_DAYS,
                        maximum=MAX_HORIZON_DAYS,
                    )
                )

    @api.constrains("retention_history_years")
    def _check_retention_history_years(self):
        for company in self:
            if not 0 <= company.retention_history_years <= MAX_HISTORY_YEARS:
                raise ValidationError(
                    self.env._(
                        "The retention history of %(company)s must be kept between 0 "
                        "and %(maximum)s years (0: status changes are never deleted).",
                        company=company.name,
                        maximum=MAX_HISTORY_YEARS,
                    )
                )

    def write(self, vals):
        # Other documents or other customers: Retention Analysis is rebuilt
        # whole by the next run.
        watched = [
            name
            for name in (
                "retention_source",
                "retention_include_pos",
                "retention_walk_in_id",
            )
            if name in vals
        ]
        if not watched:
            return super().write(vals)
        before = {company.id: [company[name] for name in watched] for company in self}
        result = super().write(vals)
        changed = self.filtered(
            lambda company: [company[name] for name in watched] != before[company.id]
        )
        changed.sudo().retention_report_until = False
        return result

    @api.constrains(*SETTING_FIELDS)
    def _check_retention_settings(self):
        for company in self:
            company._retention_refuse(
                company._retention_settings(fixed=True).problems()
            )

    @api.constrains(*CAMPAIGN_SETTING_FIELDS)
    def _check_retention_campaign_settings(self):
        for company in self:
            company._retention_refuse(
                company._retention_campaign_settings().problems(), campaign=True
            )

    def _retention_refuse(self, problems, campaign=False):
        """A ValidationError listing the engine's ``problems`` with the
        company's settings (or its win-back SMS guardrails), if any."""
        if not problems:
            return
        params = {"company": self.name, "problems": engine_problems(self.env, problems)}
        if campaign:
            message = self.env._(
                "Win-back SMS settings of %(company)s are not valid:\n%(problems)s",
                **params,
            )
        else:
            message = self.env._(
                "Customer Retention settings of %(company)s are not "
                "valid:\n%(problems)s",
                **params,
            )
        raise ValidationError(message)

    def _retention_campaign_settings(self):
        self.ensure_one()
        return CampaignSettings(
            **{attr: self[fname] for fname, attr in CAMPAIGN_SETTING_FIELDS.items()}
        )
