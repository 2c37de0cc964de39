# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta

import pandas as pd
import pytz

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..engine import (
    CONTACTED,
    HOLDOUT,
    measurement_end,
    quiet_hours_end,
    winback_figures,
)
from ..engine.winback import in_quiet_hours, is_measured
from . import retention_jobs, retention_store

_logger = logging.getLogger(__name__)

# Campaigns one click of Measure now measures (each reads the purchases of
# its customers, at most the wizard's MAX_QUEUED and their control group).
MEASURE_MAX_CAMPAIGNS = 10
# The daily measurement leaves a campaign it tried this recently alone.
MEASURE_SLACK = timedelta(hours=12)

SKIP_REASON_SELECTION = [
    ("archived", "Archived"),
    ("company", "Other company"),
    ("contact_block", "Moved away or do not contact"),
    ("no_number", "No number"),
    ("invalid", "Invalid number"),
    ("blacklist", "Opted out"),
    ("recent", "Contacted recently"),
    ("duplicate", "Duplicate number"),
]


def _partners(string):
    """Customers of the campaign in one role, archived ones included."""
    return fields.Many2many(
        "res.partner",
        compute="_compute_partners",
        string=string,
        context={"active_test": False},
    )


def _rate(string, help_text):
    """A measured percentage of the campaign, averaged in lists and pivots."""
    return fields.Float(
        string, readonly=True, digits=(16, 1), aggregator="avg", help=help_text
    )


class RetentionSmsCampaign(models.Model):
    """One run of the win-back SMS wizard: who was texted, who was kept in
    the control group, who was skipped and why, and, once the measurement
    window has passed, who came back.

    The frequency cap reads the lines, so they are the memory of who was
    contacted when."""

    _name = "retention.sms.campaign"
    _description = "Retention SMS Campaign"
    _order = "date desc, id desc"

    name = fields.Char(required=True, default=lambda self: self.env._("Win-back SMS"))
    date = fields.Datetime(
        required=True, default=fields.Datetime.now, readonly=True, index=True
    )
    state = fields.Selection(
        [
            ("held", "Held (quiet hours)"),
            ("queued", "Queued"),
            ("measured", "Measured"),
            ("failed", "Failed"),
        ],
        default="queued",
        required=True,
        readonly=True,
        index=True,
        help="Held: created during the quiet hours, the SMS go to the outgoing queue "
        "when they end. "
        "Queued: the SMS are in Odoo's queue, the win-back is being measured. "
        "Measured: the measurement window is over and the figures are final. "
        "Failed: the held SMS could not be queued; see the error.",
    )
    error = fields.Text(readonly=True, help="Why the held SMS could not be queued.")
    queued_date = fields.Datetime(
        "Sent to Queue",
        readonly=True,
        help="When the SMS entered Odoo's outgoing queue; the win-back counts from "
        "here.",
    )
    release_date = fields.Datetime(
        "Release Planned",
        readonly=True,
        help="End of the quiet hours during which the campaign was created.",
    )
    template_id = fields.Many2one(
        "sms.template", string="Template", readonly=True, ondelete="set null"
    )
    body = fields.Text(
        readonly=True,
        help="The text as written, before it was rendered for each customer.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Author",
        required=True,
        readonly=True,
        default=lambda self: self.env.user,
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        default=lambda self: self.env.company,
    )
    line_ids = fields.One2many(
        "retention.sms.campaign.line", "campaign_id", string="Customers", readonly=True
    )
    partner_ids = _partners("Contacted Customers")
    holdout_partner_ids = _partners("Control Group Customers")
    skipped_partner_ids = _partners("Skipped Customers")
    won_partner_ids = _partners("Won-back Customers")

    sent_count = fields.Integer("Texted", readonly=True)
    holdout_percent = fields.Float("Control Group (%)", readonly=True, digits=(16, 1))
    holdout_seed = fields.Integer(
        "Control Group Seed",
        readonly=True,
        help="With the eligible customers, this number re-draws exactly the same "
        "control group.",
    )
    holdout_count = fields.Integer("Control Group", readonly=True)
    skipped_no_number_count = fields.Integer("No Number", readonly=True)
    skipped_invalid_count = fields.Integer("Invalid Number", readonly=True)
    skipped_blacklist_count = fields.Integer("Opted Out", readonly=True)
    skipped_recent_count = fields.Integer("Contacted Recently", readonly=True)
    skipped_duplicate_count = fields.Integer("Duplicate Number", readonly=True)
    skipped_company_count = fields.Integer("Other Company", readonly=True)
    skipped_contact_block_count = fields.Integer(
        "Moved Away or Do Not Contact", readonly=True
    )
    skipped_archived_count = fields.Integer("Archived", readonly=True)
    skipped_count = fields.Integer("Skipped", compute="_compute_skipped_count")

    winback_days = fields.Integer(
        "Measurement Window (days)",
        readonly=True,
        default=lambda self: self.env.company.retention_sms_winback_days,
    )
    measure_end = fields.Datetime(
        "Measured Until", compute="_compute_measure_end", store=True
    )
    measured_at = fields.Datetime("Figures Updated", readonly=True)
    measure_attempt = fields.Datetime(
        "Last Measurement Attempt",
        readonly=True,
        copy=False,
        help="When the daily measurement last tried this campaign, successfully or "
        "not.",
    )
    won_count = fields.Integer(
        "Won Back", readonly=True, help="Texted customers who ordered after the SMS."
    )
    winback_rate = _rate(
        "Win-back Rate (%)",
        "Share of the texted customers who ordered inside the measurement window.",
    )
    holdout_won_count = fields.Integer("Control Group Back", readonly=True)
    holdout_rate = _rate(
        "Control Group Rate (%)",
        "Share of the control group (not texted) who ordered inside the same window: "
        "what would have happened without the SMS.",
    )
    uplift = _rate(
        "Uplift (points)",
        "Win-back rate minus the control group's rate, in percentage points.",
    )
    won_revenue = fields.Monetary(
        "Revenue Won Back",
        readonly=True,
        currency_field="currency_id",
        help="Untaxed sales to the texted customers inside the measurement window, net "
        "of credit notes.",
    )
    holdout_revenue = fields.Monetary(
        "Control Group Revenue", readonly=True, currency_field="currency_id"
    )
    currency_id = fields.Many2one(related="company_id.currency_id")

    @api.depends(
        "skipped_no_number_count",
        "skipped_invalid_count",
        "skipped_blacklist_count",
        "skipped_recent_count",
        "skipped_duplicate_count",
        "skipped_company_count",
        "skipped_contact_block_count",
        "skipped_archived_count",
    )
    def _compute_skipped_count(self):
        for campaign in self:
            campaign.skipped_count = sum(
                campaign[fname]
                for fname in self._fields
                if fname.startswith("skipped_")
                and fname.endswith("_count")
                and fname != "skipped_count"
            )

    @api.depends("queued_date", "winback_days")
    def _compute_measure_end(self):
        for campaign in self:
            campaign.measure_end = campaign.queued_date and measurement_end(
                campaign.queued_date, campaign.winback_days
            )

    @api.depends("line_ids.kind", "line_ids.won_back")
    def _compute_partners(self):
        for campaign in self:
            lines = campaign.line_ids
            campaign.partner_ids = lines.filtered(
                lambda line: line.kind == CONTACTED
            ).partner_id
            campaign.holdout_partner_ids = lines.filtered(
                lambda line: line.kind == HOLDOUT
            ).partner_id
            campaign.skipped_partner_ids = lines.filtered(
                lambda line: line.kind == "skipped"
            ).partner_id
            campaign.won_partner_ids = lines.filtered(
                lambda line: line.kind == CONTACTED and line.won_back
            ).partner_id

    @api.model
    def _recently_contacted(self, partners, numbers, company):
        """The ids among ``partners`` that a campaign of ``company`` texted,
        or kept in its control group, within the company's frequency cap
        (0 days = no cap), themselves or at the same number: ``numbers``
        maps partner id -> E.164 number. One number gets one text, even
        when a family or the contacts of a company share it. The control
        group counts: texting it the next day would spoil the measurement
        and break "twice the same selection queues nothing"."""
        cap_days = company.retention_sms_cap_days
        if cap_days <= 0 or not partners:
            return set()
        since = fields.Datetime.now() - timedelta(days=cap_days)
        # sudo: the cap counts every campaign of the company, also those of
        # colleagues the current user may not see; the company is filtered here.
        lines = (
            self.env["retention.sms.campaign.line"]
            .sudo()
            .search_read(
                [
                    ("company_id", "=", company.id),
                    ("kind", "in", (CONTACTED, HOLDOUT)),
                    ("date", ">=", since),
                    "|",
                    ("partner_id", "in", partners.ids),
                    ("number", "in", list(set(numbers.values()))),
                ],
                ["partner_id", "number"],
                load=None,
            )
        )
        partner_ids = {line["partner_id"] for line in lines}
        contacted_numbers = {line["number"] for line in lines if line["number"]}
        return {
            pid
            for pid in partners.ids
            if pid in partner_ids or numbers.get(pid) in contacted_numbers
        }

    # ------------------------------------------------------------
    # Quiet hours
    # ------------------------------------------------------------

    @api.model
    def _company_now(self, company, now=None):
        """Naive local time of ``company`` (its time zone, as the recompute's)."""
        tz = retention_store.company_timezone(company)
        local = fields.Datetime.context_timestamp(
            self.with_context(tz=tz), now or fields.Datetime.now()
        )
        return local.replace(tzinfo=None)

    @api.model
    def _quiet_until(self, company, now=None):
        """UTC datetime at which the quiet hours of ``company`` end, or False
        when ``now`` is outside them."""
        local = self._company_now(company, now)
        start, end = company.retention_sms_quiet_start, company.retention_sms_quiet_end
        if not in_quiet_hours(local, start, end):
            return False
        tz = pytz.timezone(retention_store.company_timezone(company))
        opening = tz.localize(quiet_hours_end(local, start, end))
        return opening.astimezone(pytz.utc).replace(tzinfo=None)

    def _send_lines(self, lines):
        """Put the SMS of ``lines`` (texted customers of this campaign) in
        Odoo's outgoing queue and mark them queued, in this transaction.

        Each line carries its text, rendered once with its author's rights
        when the campaign was queued; it is sent as it is and never rendered
        again, whoever runs this (the release job runs as superuser).
        Mass mode: the blacklist applies at this moment, a note goes to each
        chatter, nothing is sent here."""
        self.ensure_one()
        company = self.company_id
        partners = lines.partner_id.with_company(company).with_context(
            active_test=False,
            retention_sms_bodies={
                line.partner_id.id: line.body or "" for line in lines
            },
        )
        # The composer requires a body; retention_sms_bodies replaces it by
        # the rendered texts (see sms.composer._prepare_body_values).
        partners._message_sms_schedule_mass(
            body="-", mass_keep_log=True, mass_force_send=False
        )
        # sudo: salespeople may only read campaign lines; this marks the lines
        # of the campaign being queued.
        lines.sudo().write({"sms_state": "queued"})
        # sudo: salespeople may not touch crons; this only asks Odoo's own SMS
        # queue to run soon instead of at its next hourly call.
        sms_cron = self.env.ref(
            "sms.ir_cron_sms_scheduler_action", raise_if_not_found=False
        )
        if sms_cron:
            sms_cron.sudo()._trigger()

    def _held_lines_domain(self):
        """Lines of this campaign still to send: texted customers only, of
        the campaign's own company (or shared between companies)."""
        self.ensure_one()
        return [
            ("campaign_id", "=", self.id),
            ("sms_state", "=", "held"),
            ("kind", "=", CONTACTED),
            ("partner_id.company_id", "in", (False, self.company_id.id)),
        ]

    @api.model
    def _cron_release_held(self, batch_size=500):
        """Release held campaigns whose company's quiet hours are over, one
        batch of customers per call, committed (retention_jobs), so an
        interruption resumes where it stopped, without duplicates. A
        campaign that cannot be queued is logged, marked failed with its
        error, and the others go on."""
        Line = self.env["retention.sms.campaign.line"]
        due = self.search([("state", "=", "held")], order="date, id").filtered(
            lambda campaign: not self._quiet_until(campaign.company_id)
        )

        def work(campaign, budget):
            # Queued and marked in the same transaction: a run cut short
            # leaves both or neither, so a retry never texts twice.
            lines = Line.search(
                campaign._held_lines_domain(), limit=batch_size, order="id"
            )
            if lines:
                campaign._send_lines(lines)
            left = Line.search_count(campaign._held_lines_domain())
            if not left:
                campaign.write(
                    {"state": "queued", "queued_date": fields.Datetime.now()}
                )
                _logger.info(
                    "Win-back SMS campaign %s released after the quiet hours",
                    campaign.id,
                )
            return retention_jobs.Progress(len(lines), left)

        def failed(campaign, error):
            _logger.exception(
                "Win-back SMS campaign %s could not be released", campaign.id
            )
            campaign.write(
                {"state": "failed", "error": f"{type(error).__name__}: {error}"}
            )

        retention_jobs.call(
            self.env,
            "customer_retention.ir_cron_retention_sms_release",
            due,
            work,
            failed,
        )

    # ------------------------------------------------------------
    # Win-back measurement
    # ------------------------------------------------------------

    def _measure(self, now=None):
        """Count, for each campaign, who among the texted customers and the
        control group ordered after the SMS, inside the measurement window
        (or until now while it is open), and store the figures."""
        now = now or fields.Datetime.now()
        self.env.flush_all()
        for campaign in self.filtered("queued_date"):
            lines = campaign.line_ids.filtered(
                lambda line: line.kind in (CONTACTED, HOLDOUT)
            )
            members = pd.DataFrame(
                {
                    "line_id": lines.ids,
                    "partner_id": [line.commercial_partner_id.id for line in lines],
                    "group": [line.kind for line in lines],
                }
            )
            end = min(now, campaign.measure_end)
            summary, per_customer = winback_figures(
                members, campaign._purchases(members["partner_id"], end)
            )
            campaign._write_line_figures(
                members.merge(per_customer, on=["partner_id", "group"])
            )
            contacted, holdout = summary[CONTACTED], summary[HOLDOUT]
            campaign.write(
                {
                    "won_count": contacted["won_back"],
                    "winback_rate": contacted["rate"] or 0.0,
                    "won_revenue": contacted["revenue"],
                    "holdout_won_count": holdout["won_back"],
                    "holdout_rate": holdout["rate"] or 0.0,
                    "holdout_revenue": holdout["revenue"],
                    "uplift": summary["uplift"] or 0.0,
                    "measured_at": now,
                    "state": "measured"
                    if is_measured(campaign.queued_date, campaign.winback_days, now)
                    else "queued",
                }
            )

    def _write_line_figures(self, rows):
        """One UPDATE for all the lines of a campaign, whatever its size."""
        if rows.empty:
            return
        self.env.cr.execute(
            """
            UPDATE retention_sms_campaign_line line
               SET won_back = v.won_back, revenue = v.revenue, won_date = v.won_date
              FROM unnest(%s::int4[], %s::bool[], %s::numeric[], %s::date[])
                   AS v(id, won_back, revenue, won_date)
             WHERE line.id = v.id
            """,
            [
                rows["line_id"].astype(int).tolist(),
                rows["won_back"].astype(bool).tolist(),
                rows["revenue"].astype(float).tolist(),
                [None if pd.isna(day) else day.date() for day in rows["first_date"]],
            ],
        )
        self.env["retention.sms.campaign.line"].invalidate_model(
            ["won_back", "revenue", "won_date"]
        )
        self.invalidate_recordset(["won_partner_ids"])

    def _purchases(self, partner_ids, end):
        """Purchases of ``partner_ids`` for this campaign's company, from the
        day of the SMS until the day of ``end`` on the company's clock, read
        by the recompute's own extract: a win-back is a visit as the
        retention figures count it (confirmed orders or posted invoices,
        cancelled ones excluded, credit notes lowering revenue)."""
        self.ensure_one()
        company = self.company_id
        return retention_store.extract_transactions(
            company,
            company._retention_local_date(end),
            partner_ids=sorted({int(pid) for pid in partner_ids}),
            date_from=company._retention_local_date(self.queued_date),
        )

    @api.model
    def _cron_measure(self):
        """Daily: refresh the figures of the campaigns still inside their
        window, and close those whose window has just ended, one campaign
        per call, committed (retention_jobs). One that fails is logged and
        measured again the next day; the others go on."""
        now = fields.Datetime.now()
        due = self.search(
            [
                ("state", "=", "queued"),
                ("queued_date", "!=", False),
                "|",
                ("measure_attempt", "=", False),
                ("measure_attempt", "<", now - MEASURE_SLACK),
            ],
            order="id",
        )

        def work(campaign, budget):
            campaign._measure()
            attempted(campaign)
            return retention_jobs.Progress()

        def failed(campaign, error):
            _logger.exception(
                "Win-back SMS campaign %s could not be measured", campaign.id
            )
            attempted(campaign)

        def attempted(campaign):
            campaign.measure_attempt = now

        retention_jobs.call(
            self.env,
            "customer_retention.ir_cron_retention_sms_measure",
            due,
            work,
            failed,
        )

    def action_measure(self):
        """The "Measure now" button, for everyone who sees the campaign."""
        self.check_access("read")
        if len(self) > MEASURE_MAX_CAMPAIGNS:
            raise UserError(
                self.env._(
                    "Measure at most %(maximum)s campaigns at a time (%(count)s "
                    "selected); the nightly job measures every open campaign.",
                    maximum=MEASURE_MAX_CAMPAIGNS,
                    count=len(self),
                )
            )
        # sudo: salespeople may only read campaigns; the figures are computed
        # from the orders, whoever asks, for the campaigns they can read.
        self.sudo()._measure()

    # ------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------

    def action_open_contacted(self):
        return self._partner_action(self.partner_ids, self.env._("Texted Customers"))

    def action_open_holdout(self):
        return self._partner_action(
            self.holdout_partner_ids, self.env._("Control Group")
        )

    def action_open_skipped(self):
        return self._partner_action(
            self.skipped_partner_ids, self.env._("Skipped Customers")
        )

    def action_open_won(self):
        return self._partner_action(
            self.won_partner_ids, self.env._("Won-back Customers")
        )

    def _partner_action(self, partners, name):
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": "res.partner",
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", partners.ids)],
            "context": {"active_test": False, "create": False},
        }


class RetentionSmsCampaignLine(models.Model):
    """One customer of a campaign: texted, kept in the control group, or
    skipped with its reason; after the window, whether they came back."""

    _name = "retention.sms.campaign.line"
    _description = "Retention SMS Campaign Customer"
    _order = "campaign_id desc, id"

    campaign_id = fields.Many2one(
        "retention.sms.campaign",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    date = fields.Datetime(related="campaign_id.date", store=True, index=True)
    company_id = fields.Many2one(
        related="campaign_id.company_id", store=True, index=True
    )
    partner_id = fields.Many2one(
        "res.partner",
        "Customer",
        required=True,
        index=True,
        readonly=True,
        ondelete="cascade",
    )
    commercial_partner_id = fields.Many2one(
        "res.partner",
        "Company Customer",
        required=True,
        index=True,
        readonly=True,
        ondelete="cascade",
        help="Win-back is measured on the orders of the customer's company, whichever "
        "contact was texted.",
    )
    kind = fields.Selection(
        [(CONTACTED, "Texted"), (HOLDOUT, "Control group"), ("skipped", "Skipped")],
        string="Role",
        required=True,
        readonly=True,
        index=True,
    )
    skip_reason = fields.Selection(
        SKIP_REASON_SELECTION, string="Skipped Because", readonly=True
    )
    number = fields.Char(
        readonly=True,
        index="btree_not_null",
        help="The number in E.164 format.",
    )
    body = fields.Text(
        "Text",
        readonly=True,
        help="The text sent to this customer, rendered when the campaign was queued.",
    )
    sms_state = fields.Selection(
        [("held", "Held (quiet hours)"), ("queued", "Queued")],
        string="SMS",
        readonly=True,
        index="btree_not_null",
    )
    won_back = fields.Boolean(readonly=True, index="btree_not_null")
    won_date = fields.Date("Came Back On", readonly=True)
    revenue = fields.Monetary(
        "Revenue in Window", readonly=True, currency_field="currency_id"
    )
    currency_id = fields.Many2one(related="campaign_id.currency_id")
