# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Back-tests of the at-risk flag on the company's own past, and the
thresholds calibrated on them (issue #13, sections 2 and 3).

A back-test goes back H days from ``as_of`` to the cut, looks only at the
transactions up to ``as_of``, flags the customers as of the cut with each
rule (:data:`engine.RULES`) and compares the flags with who came back in the
H days after the cut. The engine does all of it (engine/backtest.py); this
file extracts the transactions, stores the figures and keeps the calibrated
thresholds on the company.
"""

import logging
import math
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..engine import HORIZON_DAYS, NOT_CALIBRATED, RULES, backtest
from ..engine.backtest import MIN_CUSTOMERS, MIN_GROUP_CUSTOMERS, own_thresholds
from ..engine.judgement import KINDS, NOT_JUDGED, Judgement
from ..engine.predict import SAMPLE
from . import retention_args, retention_jobs, retention_store

_logger = logging.getLogger(__name__)

# The back-test horizon a user may ask for, in days.
MIN_HORIZON_DAYS = 7
MAX_HORIZON_DAYS = 730
# The seed of the customers sampled beyond SAMPLE: the same customers every
# month, so that two back-tests differ by the business, not by the draw.
SAMPLE_SEED = "customer_retention.backtest"
# A company whose monthly back-test was attempted this recently is not due.
MONTHLY_SLACK_DAYS = 20
MANAGER_GROUP = "sales_team.group_sale_manager"
# The figures of a rule, as the engine names them.
COUNTS = ("tp", "fp", "fn", "tn", "n")
SCORES = ("precision", "recall", "f1", "youden_j", "auc")


def _youden_field(string, help_text):
    """A stored Youden's J, read-only, with 3 decimals."""
    return fields.Float(string=string, readonly=True, digits=(16, 3), help=help_text)


def _number(value):
    """A float for the database: NaN (undefined, e.g. nothing flagged) is NULL."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


class RetentionBacktest(models.Model):
    _name = "retention.backtest"
    _description = "Customer Retention Back-test"
    _order = "as_of desc, id desc"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(
        "res.users", string="Run by", readonly=True, ondelete="set null"
    )
    date = fields.Datetime(
        string="Run on", required=True, readonly=True, default=fields.Datetime.now
    )
    as_of = fields.Date(
        string="As of",
        required=True,
        readonly=True,
        help="Only the orders up to this day were read.",
    )
    cutoff = fields.Date(
        string="Flags as of",
        readonly=True,
        help="The day the customers were flagged: as of minus the horizon. The "
        "flags saw only the orders up to it.",
    )
    horizon_days = fields.Integer(
        string="Horizon (days)",
        readonly=True,
        help="A flagged customer with no visit in this many days after the day of "
        "the flags did not come back.",
    )
    customers = fields.Integer(
        string="Customers Judged",
        readonly=True,
        help="Customers with a visit in the look-back window on the day of the flags.",
    )
    sample_size = fields.Integer(
        readonly=True,
        help="Customers of the seeded random sample the back-test read; 0: all.",
    )
    company_customers = fields.Integer(
        string="Customers of the Company",
        readonly=True,
        help="Customers with retention values when the back-test ran.",
    )
    scope = fields.Char(compute="_compute_scope")
    summaries = fields.Text(
        string="In Plain Words",
        compute="_compute_summaries",
        help="What each rule caught, in one sentence per rule.",
    )
    not_calibrated = fields.Selection(
        list(NOT_CALIBRATED),
        string="Calibration Kept",
        readonly=True,
        help="Why the calibration kept the current thresholds; empty when it chose "
        "its own.",
    )
    judgement_kind = fields.Selection(
        list(KINDS),
        string="Calibrated Mode Judges By",
        readonly=True,
        help="In calibrated mode, what decides a customer's status: the chance of "
        "return against the threshold chosen on the business's own past, or the "
        "at-risk rule of the settings where the chance did not tell the leavers "
        "better.",
    )
    chance_threshold = fields.Float(
        string="Chance Threshold (%)",
        readonly=True,
        digits=(16, 0),
        help="In calibrated mode a customer with a lower chance of return is at "
        "risk (or lost), one at or above it new or active.",
    )
    label_factor = fields.Float(
        string="Rhythm Factor of Leaving",
        readonly=True,
        digits=(16, 2),
        help="A customer counts as gone when not back within the horizon or within "
        "this many times their usual interval, when that is longer (0: the horizon "
        "alone), from how this business's own customers come back.",
    )
    judgement_youden_j = _youden_field(
        "Youden's J of the Chance",
        "Youden's J of the chance threshold on the business's past, out of sample.",
    )
    judgement_cadence_youden_j = _youden_field(
        "Youden's J of the At-Risk Rule",
        "Youden's J of the at-risk rule of the settings on the same customers.",
    )
    not_judged = fields.Selection(
        list(NOT_JUDGED),
        string="Why Not by the Chance",
        readonly=True,
    )
    in_use = fields.Boolean(
        string="Thresholds in Use",
        compute="_compute_in_use",
        help="In calibrated mode, the statuses use this back-test's thresholds. "
        "Only a back-test as of the day it runs, over the company's prediction "
        "horizon, is put in use; one over another horizon, or of a past day, is "
        "exploratory.",
    )
    at_risk_factor = fields.Float(
        string="Calibrated At-Risk Factor", readonly=True, digits=(16, 2)
    )
    min_at_risk_days = fields.Integer(
        string="Calibrated Minimum Days Before At Risk", readonly=True
    )
    dormant_days = fields.Integer(string="Calibrated Dormant After", readonly=True)
    calibration_youden_j = _youden_field(
        "J of the Calibrated Thresholds",
        "Youden's J of the calibrated thresholds on the last horizon before "
        "as of, where they were chosen.",
    )
    calibration_current_youden_j = _youden_field(
        "J of the Current Thresholds",
        "Youden's J of the current thresholds on the same customers.",
    )
    current_youden_j = _youden_field(
        "J (Current Settings)",
        "Youden's J of the current settings in this back-test.",
    )
    calibrated_youden_j = _youden_field(
        "J (Calibrated Settings)",
        "Youden's J of the thresholds calibrated on the horizon before the day "
        "of the flags: out of sample.",
    )
    rule_ids = fields.One2many(
        "retention.backtest.rule", "backtest_id", string="Rules", readonly=True
    )
    group_field = fields.Char(
        string="Peer Group Field",
        readonly=True,
        help="The customer field the peer groups were read from.",
    )
    group_ids = fields.One2many(
        "retention.backtest.group",
        "backtest_id",
        string="Peer Groups",
        readonly=True,
        help="The peer groups with enough customers to be calibrated on their own, "
        "and whether their own thresholds told better than the company's.",
    )

    @api.depends("as_of", "company_id")
    def _compute_display_name(self):
        for record in self:
            record.display_name = self.env._(
                "Back-test as of %(day)s", day=record.as_of or ""
            )

    @api.depends("sample_size", "company_customers", "customers", "cutoff")
    def _compute_scope(self):
        for record in self:
            if record.sample_size:
                record.scope = self.env._(
                    "On a sample of %(sample)s customers out of %(total)s; "
                    "%(judged)s of them were followed on %(cutoff)s.",
                    sample=format(record.sample_size, ","),
                    total=format(record.company_customers, ","),
                    judged=format(record.customers, ","),
                    cutoff=record.cutoff or "",
                )
            else:
                record.scope = self.env._(
                    "On all %(judged)s customers followed on %(cutoff)s.",
                    judged=format(record.customers, ","),
                    cutoff=record.cutoff or "",
                )

    @api.depends("rule_ids.summary")
    def _compute_summaries(self):
        for record in self:
            record.summaries = "\n".join(record.rule_ids.mapped("summary"))

    # ------------------------------------------------------------
    # Running a back-test
    # ------------------------------------------------------------

    @api.model
    def _check_may_run(self, company):
        """Back-tests read every order of the company: sales managers (or
        the superuser, for the monthly job) of that company only."""
        if self.env.su:
            return
        user = self.env.user
        if not user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._(
                    "Only Sales administrators can run a back-test of customer "
                    "retention."
                )
            )
        if company not in user.company_ids:
            raise AccessError(
                self.env._(
                    "You cannot run a back-test of %(company)s: it is not one of "
                    "your companies.",
                    company=company.name,
                )
            )

    @api.model
    def _horizon(self, company, horizon_days):
        """``horizon_days``, or the company's prediction horizon where the
        addon has one, or the engine's; a UserError when out of range."""
        if not horizon_days:
            field = company._fields.get("retention_predict_horizon_days")
            horizon_days = (field and company[field.name]) or HORIZON_DAYS
        try:
            horizon = int(horizon_days)
        except (TypeError, ValueError, OverflowError):  # NaN, infinity, text
            horizon = None
        if horizon is None or not MIN_HORIZON_DAYS <= horizon <= MAX_HORIZON_DAYS:
            raise UserError(
                self.env._(
                    "The back-test horizon must be a number of days between "
                    "%(minimum)s and %(maximum)s (got %(value)s).",
                    minimum=MIN_HORIZON_DAYS,
                    maximum=MAX_HORIZON_DAYS,
                    value=horizon_days,
                )
            )
        return horizon

    @api.model
    def _sample(self, company):
        """(customer count, sample): the commercial partners of a seeded
        random sample of SAMPLE customers when the company has more, else
        None (all). At a million customers one worker cannot hold every
        transaction; the same md5 order every month keeps the sample stable."""
        cr = self.env.cr
        cr.execute(
            "SELECT count(*) FROM retention_partner_state WHERE company_id = %s",
            [company.id],
        )
        total = cr.fetchone()[0]
        if total <= SAMPLE:
            return total, None
        cr.execute(
            """SELECT partner_id FROM retention_partner_state
                WHERE company_id = %s
                ORDER BY md5(partner_id::text || %s)
                LIMIT %s""",
            [company.id, SAMPLE_SEED, SAMPLE],
        )
        return total, [row[0] for row in cr.fetchall()]

    @api.model
    def _run(self, company, as_of, horizon_days):
        """Back-test ``company`` as of ``as_of`` (a checked date) over
        ``horizon_days`` (checked), store it with its rules and, when as of
        the company's today, keep its calibration on the company. Returns
        the back-test."""
        settings = company._retention_settings()
        total, sample = self._sample(company)
        # The extract reads with SQL: pending ORM writes must reach the database.
        self.env.flush_all()
        transactions = retention_store.extract_transactions(
            company, as_of, partner_ids=sample
        )
        # The peer groups of the customers read: calibrated on their own
        # where they have enough customers.
        groups = retention_store.extract_groups(
            company, transactions["partner_id"].unique()
        )
        # The sample is taken above, in SQL: the engine judges all it is given.
        result = backtest(
            transactions,
            as_of,
            {company.id: settings},
            horizon_days=horizon_days,
            min_customers=self._min_customers,
            groups=groups,
            min_group_customers=self._min_group_customers,
        )
        del transactions, groups
        record = self._store(company, as_of, horizon_days, total, sample, result)
        # Only the back-test the statuses are calibrated on (as of today, over
        # the company's prediction horizon, as the monthly job runs it) keeps
        # its thresholds; one over another horizon is exploratory: stored and
        # shown, never silently put in use.
        if (
            as_of == company._retention_today()
            and horizon_days == self._horizon(company, None)
            and not record.not_calibrated
        ):
            own = own_thresholds(result.groups, company.id)
            # sudo: the calibration's own values on the company, read-only for all
            company.sudo().write(
                {
                    "retention_calibrated_at_risk_factor": record.at_risk_factor,
                    "retention_calibrated_min_at_risk_days": record.min_at_risk_days,
                    "retention_calibrated_dormant_days": record.dormant_days,
                    "retention_calibrated_groups": {
                        "field": retention_store.group_column(company),
                        "thresholds": [list(values) for values in own],
                    }
                    if own
                    else False,
                    "retention_calibrated_on": as_of,
                    "retention_calibrated_backtest_id": record.id,
                    "retention_calibrated_judgement": self._judgement_of(
                        company, result
                    ),
                }
            )
        return record

    # Customers the calibration and the chance of return need, and those a
    # peer group needs to be calibrated on its own (test seams).
    _min_customers = MIN_CUSTOMERS
    _min_group_customers = MIN_GROUP_CUSTOMERS

    @api.model
    def _store(self, company, as_of, horizon_days, total, sample, result):
        rules = result.rules[result.rules["company_id"] == company.id]
        calibration = result.calibration[result.calibration["company_id"] == company.id]
        groups = result.groups[result.groups["company_id"] == company.id]
        field = retention_store.group_column(company)
        by_rule = {row.rule: row for row in rules.itertuples()}
        values = {
            "company_id": company.id,
            "user_id": self.env.uid,
            "as_of": as_of,
            "horizon_days": horizon_days,
            "sample_size": len(sample) if sample is not None else 0,
            "company_customers": total,
            "rule_ids": [
                (0, 0, self.env["retention.backtest.rule"]._values(row, sequence))
                for sequence, row in enumerate(rules.itertuples())
            ],
            "group_field": field or False,
            "group_ids": [
                (0, 0, self.env["retention.backtest.group"]._values(row))
                for row in groups.itertuples()
            ],
        }
        if not rules.empty:
            values["cutoff"] = rules["cutoff"].iloc[0]
            values["customers"] = int(rules["n"].iloc[0])
        for rule, field in (
            ("current", "current_youden_j"),
            ("calibrated", "calibrated_youden_j"),
        ):
            if rule in by_rule:
                values[field] = _number(by_rule[rule].youden_j)
        if not calibration.empty:
            found = calibration.iloc[0]
            values.update(
                not_calibrated=found["not_calibrated"] or False,
                at_risk_factor=float(found["at_risk_factor"]),
                min_at_risk_days=int(found["min_at_risk_days"]),
                dormant_days=int(found["dormant_days"]),
                calibration_youden_j=_number(found["youden_j"]),
                calibration_current_youden_j=_number(found["current_youden_j"]),
            )
        judgement = self._judgement_row(company, result)
        if judgement is not None:
            values.update(
                judgement_kind=judgement["kind"] or False,
                chance_threshold=_number(judgement["chance_threshold"]),
                label_factor=_number(judgement["label_factor"]),
                judgement_youden_j=_number(judgement["youden_j"]),
                judgement_cadence_youden_j=_number(judgement["cadence_youden_j"]),
                not_judged=judgement["not_judged"] or False,
            )
        # sudo: back-tests are written by this method alone (no create right),
        # after _check_may_run; users read them through the record rules.
        return self.sudo().create(values).sudo(False)

    @api.model
    def _judgement_row(self, company, result):
        """The engine's calibrated judgement of ``company`` (a row of
        :data:`JUDGEMENT_COLUMNS`), or None."""
        frame = result.judgement
        if frame is None or frame.empty:
            return None
        rows = frame[frame["company_id"] == company.id]
        return None if rows.empty else rows.iloc[0]

    @api.model
    def _judgement_of(self, company, result):
        """What the company keeps of the judgement (engine ``Judgement``
        as a dict), or False."""
        row = self._judgement_row(company, result)
        if row is None:
            return False
        return Judgement.from_dict(row.to_dict()).as_dict()

    @api.depends("company_id.retention_calibrated_backtest_id")
    def _compute_in_use(self):
        for record in self:
            record.in_use = record.company_id.retention_calibrated_backtest_id == record

    @api.model
    def action_run_now(self):
        """The list's button: back-test the current company as of today."""
        return self.env.company.retention_backtest()

    def action_open(self):
        retention_args.one(self)
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    # ------------------------------------------------------------
    # Monthly job
    # ------------------------------------------------------------

    @api.model
    def _due_companies(self):
        """Companies with customers whose monthly back-test is due."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT c.id FROM res_company c
                WHERE EXISTS (SELECT 1 FROM retention_partner_state s
                               WHERE s.company_id = c.id)
                  AND (c.retention_backtest_attempt IS NULL
                       OR c.retention_backtest_attempt < %s)
                ORDER BY c.id""",
            [fields.Datetime.now() - timedelta(days=MONTHLY_SLACK_DAYS)],
        )
        return self.env["res.company"].browse(
            [row[0] for row in self.env.cr.fetchall()]
        )

    @api.model
    def _cron_backtest(self):
        """Monthly job: back-test each company with customers as of its
        today, store it and keep its calibration, one company per call,
        committed after each (retention_jobs). A company that fails is
        logged and skipped until next month; the others go on."""
        now = fields.Datetime.now()

        def work(company, budget):
            self._run(company, company._retention_today(), self._horizon(company, None))
            attempted(company)
            return retention_jobs.Progress()

        def failed(company, error):
            _logger.exception("Customer retention back-test of %s failed", company.name)
            attempted(company)

        def attempted(company):
            # sudo: the monthly job's own watermark on the company
            company.sudo().retention_backtest_attempt = now

        retention_jobs.call(
            self.env,
            "customer_retention.ir_cron_retention_backtest",
            self._due_companies(),
            work,
            failed,
        )


class RetentionBacktestLine(models.AbstractModel):
    """What the lines of a back-test share: their back-test and its company
    (stored, for the record rules)."""

    _name = "retention.backtest.line"
    _description = "Customer Retention Back-test Line"

    backtest_id = fields.Many2one(
        "retention.backtest",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="backtest_id.company_id", store=True, index=True
    )


class RetentionBacktestRule(models.Model):
    _name = "retention.backtest.rule"
    _inherit = ["retention.backtest.line"]
    _description = "Customer Retention Back-test Rule"
    _order = "backtest_id desc, sequence, id"
    _rec_name = "rule"

    as_of = fields.Date(related="backtest_id.as_of", store=True)
    horizon_days = fields.Integer(related="backtest_id.horizon_days")
    sequence = fields.Integer(readonly=True)
    # A list: Odoo reflects (and translates) list selections only.
    rule = fields.Selection(list(RULES), required=True, readonly=True)
    tp = fields.Integer(
        string="Caught",
        readonly=True,
        help="Flagged customers who did not come back (true positives).",
    )
    fp = fields.Integer(
        string="Flagged, Came Back",
        readonly=True,
        help="Flagged customers who came back anyway (false positives).",
    )
    fn = fields.Integer(
        string="Missed",
        readonly=True,
        help="Customers not flagged who did not come back (false negatives).",
    )
    tn = fields.Integer(
        string="Left Alone, Came Back",
        readonly=True,
        help="Customers not flagged who came back (true negatives).",
    )
    n = fields.Integer(string="Customers", readonly=True)
    precision = fields.Float(
        readonly=True,
        help="Share of the flagged customers who did not come back: caught / flagged.",
    )
    recall = fields.Float(
        readonly=True,
        help="Share of the customers who did not come back that were flagged: "
        "caught / (caught + missed).",
    )
    f1 = fields.Float(
        readonly=True,
        help="Harmonic mean of precision and recall.",
    )
    youden_j = fields.Float(
        string="Youden's J",
        readonly=True,
        digits=(16, 3),
        aggregator="avg",
        help="Recall minus the share of the customers who came back that were "
        "flagged: 0 is a coin toss, 1 is perfect. J and the AUC decide.",
    )
    auc = fields.Float(
        string="AUC",
        readonly=True,
        digits=(16, 3),
        aggregator="avg",
        help="Chance that a customer who did not come back scores higher than one "
        "who did, on the score the rule cuts: 0.5 is a coin toss, 1 is perfect.",
    )
    has_auc = fields.Boolean(readonly=True)
    has_precision = fields.Boolean(compute="_compute_defined")
    has_recall = fields.Boolean(compute="_compute_defined")
    summary = fields.Char(string="In Plain Words", compute="_compute_summary")

    @api.model
    def _values(self, row, sequence):
        values = {"sequence": sequence, "rule": row.rule}
        values.update({name: int(getattr(row, name)) for name in COUNTS})
        for name in SCORES:
            values[name] = _number(getattr(row, name)) or 0.0
        values["has_auc"] = _number(row.auc) is not None
        return values

    @api.depends("tp", "fp", "fn")
    def _compute_defined(self):
        for rule in self:
            rule.has_precision = bool(rule.tp + rule.fp)
            rule.has_recall = bool(rule.tp + rule.fn)

    @api.depends("rule", "tp", "fp", "fn", "horizon_days")
    def _compute_summary(self):
        labels = dict(self._fields["rule"]._description_selection(self.env))
        for rule in self:
            label = labels.get(rule.rule, "")
            flagged, gone = rule.tp + rule.fp, rule.tp + rule.fn
            if not gone:
                rule.summary = self.env._(
                    "On your own history, every customer judged came back within "
                    "%(days)s days: there was nobody to catch.",
                    days=rule.horizon_days,
                )
            elif not flagged:
                rule.summary = self.env._(
                    "On your own history, '%(rule)s' flagged nobody; %(gone)s "
                    "customers then did not come back.",
                    rule=label,
                    gone=gone,
                )
            else:
                rule.summary = self.env._(
                    "On your own history, '%(rule)s' caught %(caught)s %% of the "
                    "customers who then did not come back; %(wrong)s %% of those "
                    "flagged came back anyway.",
                    rule=label,
                    caught=round(100 * rule.tp / gone),
                    wrong=round(100 * rule.fp / flagged),
                )


class RetentionBacktestGroup(models.Model):
    """A peer group calibrated on its own by a back-test (engine
    calibrate_groups): the thresholds it would have, and whether it has them,
    i.e. whether its own choice did better than the company's one horizon
    later."""

    _name = "retention.backtest.group"
    _inherit = ["retention.backtest.line"]
    _description = "Customer Retention Back-test Peer Group"
    _order = "backtest_id desc, own desc, customers desc, id"
    _rec_name = "group_name"

    group_key = fields.Integer(string="Peer Group ID", readonly=True)
    group_name = fields.Char(
        string="Peer Group", compute="_compute_group_name", compute_sudo=False
    )
    customers = fields.Integer(
        string="Customers Judged",
        readonly=True,
        help="Customers of the group followed on the day of the replay.",
    )
    own = fields.Boolean(
        string="Own Thresholds",
        readonly=True,
        help="The group's own thresholds, chosen one horizon earlier, told better "
        "than the company's on the last horizon: in calibrated mode the group uses "
        "its own.",
    )
    at_risk_factor = fields.Float(readonly=True, digits=(16, 2))
    min_at_risk_days = fields.Integer(string="Minimum Days", readonly=True)
    dormant_days = fields.Integer(string="Dormant After", readonly=True)
    youden_j = _youden_field(
        "J (Own)",
        "Youden's J of the group's own thresholds on its customers.",
    )
    company_youden_j = _youden_field(
        "J (Company's)",
        "Youden's J of the company's calibrated thresholds on the same customers.",
    )
    validated_youden_j = _youden_field(
        "J (Own, Chosen Earlier)",
        "Youden's J, on the last horizon, of the group's own thresholds chosen "
        "one horizon earlier: what decides.",
    )
    validated_company_youden_j = _youden_field(
        "J (Company's, Chosen Earlier)",
        "The same for the company's thresholds chosen one horizon earlier.",
    )
    summary = fields.Char(string="In Plain Words", compute="_compute_summary")

    @api.model
    def _values(self, row):
        values = {
            "group_key": int(row.group_key),
            "customers": int(row.n),
            "own": bool(row.own),
            "at_risk_factor": float(row.at_risk_factor),
            "min_at_risk_days": int(row.min_at_risk_days),
            "dormant_days": int(row.dormant_days),
        }
        for name in (
            "youden_j",
            "company_youden_j",
            "validated_youden_j",
            "validated_company_youden_j",
        ):
            values[name] = _number(getattr(row, name)) or 0.0
        return values

    @api.depends("group_key", "backtest_id.group_field")
    def _compute_group_name(self):
        Partner = self.env["res.partner"]
        for line in self:
            field = Partner._fields.get(line.backtest_id.group_field or "")
            record = (
                self.env[field.comodel_name].browse(line.group_key).exists()
                if field is not None and field.comodel_name
                else None
            )
            line.group_name = record.display_name if record else str(line.group_key)

    @api.depends(
        "group_name",
        "own",
        "at_risk_factor",
        "min_at_risk_days",
        "dormant_days",
        "validated_youden_j",
        "validated_company_youden_j",
    )
    def _compute_summary(self):
        for line in self:
            values = dict(
                group=line.group_name,
                factor=f"{line.at_risk_factor:g}",
                minimum=line.min_at_risk_days,
                dormant=line.dormant_days,
                own=f"{line.validated_youden_j:.3f}",
                company=f"{line.validated_company_youden_j:.3f}",
            )
            if line.own:
                line.summary = self.env._(
                    "%(group)s has its own thresholds (%(factor)s × usual interval, "
                    "%(minimum)s to %(dormant)s days): chosen a horizon earlier, "
                    "they told better than the company's (J %(own)s against "
                    "%(company)s).",
                    **values,
                )
            else:
                line.summary = self.env._(
                    "%(group)s keeps the company's thresholds: its own, chosen a "
                    "horizon earlier, did not tell better (J %(own)s against "
                    "%(company)s).",
                    **values,
                )
