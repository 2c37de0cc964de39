# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import random

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools.misc import clean_context, format_datetime

from ..engine import CONTACTED, HOLDOUT, CampaignSettings, split_holdout, template_for
from ..models import retention_args
from ..models.engine_text import engine_problems

# skip reason -> wizard field holding the partners skipped for it, in the
# order the reasons are checked (each partner is skipped for the first one).
SKIP_REASONS = {
    "archived": "skip_archived_ids",
    "company": "skip_company_ids",
    "contact_block": "skip_contact_block_ids",
    "no_number": "skip_no_number_ids",
    "invalid": "skip_invalid_ids",
    "blacklist": "skip_blacklist_ids",
    "recent": "skip_recent_ids",
    "duplicate": "skip_duplicate_ids",
}

# skip reason -> campaign count field
CAMPAIGN_COUNTS = {
    "archived": "skipped_archived_count",
    "company": "skipped_company_count",
    "contact_block": "skipped_contact_block_count",
    "no_number": "skipped_no_number_count",
    "invalid": "skipped_invalid_count",
    "blacklist": "skipped_blacklist_count",
    "recent": "skipped_recent_count",
    "duplicate": "skipped_duplicate_count",
}

# partner fields list archived partners too: they are selected, then skipped
ACTIVE_AND_ARCHIVED = {"active_test": False}


# Bounded request work (issue 21): a selection the dialog classifies (20,000
# customers in about 1.5 s, tests/benchmark_sms.py), and the texts one
# request queues whatever the company's "Maximum SMS per campaign" (0 = no
# limit of the company's own): an SMS, a line and a chatter note each.
MAX_SELECTION = 20_000
MAX_QUEUED = 5_000


def _count(string):
    """How many of the selected customers are in one group."""
    return fields.Integer(compute="_compute_recipients", string=string)


def _recipients(string):
    """A computed group of the selected customers (archived ones included)."""
    return fields.Many2many(
        "res.partner",
        compute="_compute_recipients",
        string=string,
        context=ACTIVE_AND_ARCHIVED,
    )


class RetentionSmsWizard(models.TransientModel):
    _name = "retention.sms.wizard"
    _description = "Win-back SMS"

    # The ticked customers travel as a plain list of ids: the web client's
    # onchange reads every record of a many2many one by one (20 s for
    # 20,000 customers), a list of numbers costs nothing.
    selected_ids = fields.Json(string="Selected Customer Ids")
    partner_ids = fields.Many2many(
        "res.partner",
        compute="_compute_partner_ids",
        string="Selected Customers",
        context=ACTIVE_AND_ARCHIVED,
    )
    company_id = fields.Many2one(
        "res.company", default=lambda self: self.env.company, readonly=True
    )
    state = fields.Selection(
        [("draft", "Draft"), ("done", "Queued")], default="draft", readonly=True
    )
    campaign_id = fields.Many2one("retention.sms.campaign", readonly=True)
    holdout_percent = fields.Float(
        "Control Group (%)",
        digits=(16, 1),
        default=lambda self: self.env.company.retention_sms_holdout_percent,
        help="Share of the customers who could be texted that is kept out at random, "
        "as a control group: comparing who comes back in both groups shows what the "
        "SMS really changed.",
    )
    holdout_seed = fields.Integer(
        "Control Group Seed",
        default=lambda self: random.SystemRandom().randrange(1, 2**31 - 1),
        readonly=True,
        help="Draws the control group; recorded on the campaign so that the draw can "
        "be repeated.",
    )
    holdout_partner_ids = _recipients("Customers: Control Group")
    holdout_count = _count("Control Group (not texted)")
    max_batch = fields.Integer(related="company_id.retention_sms_max_batch")
    over_limit = fields.Boolean(compute="_compute_recipients", string="Over the Limit")
    quiet_until = fields.Datetime(compute="_compute_quiet_until", string="Held Until")
    template_id = fields.Many2one(
        "sms.template",
        string="Template",
        domain="[('model', '=', 'res.partner')]",
        compute="_compute_template_id",
        store=True,
        readonly=False,
    )
    body = fields.Text(compute="_compute_body", store=True, readonly=False)

    send_partner_ids = _recipients("Customers: To Send")
    skip_archived_ids = _recipients("Customers: Archived")
    skip_company_ids = _recipients("Customers: Other Company")
    skip_contact_block_ids = _recipients("Customers: Do Not Contact")
    skip_no_number_ids = _recipients("Customers: No Number")
    skip_invalid_ids = _recipients("Customers: Invalid Number")
    skip_blacklist_ids = _recipients("Customers: Opted Out")
    skip_recent_ids = _recipients("Customers: Contacted Recently")
    skip_duplicate_ids = _recipients("Customers: Duplicate Number")
    send_count = _count("To Send")
    skip_archived_count = _count("Archived")
    skip_company_count = _count("Other Company")
    skip_contact_block_count = _count("Moved Away or Do Not Contact")
    skip_no_number_count = _count("No Number")
    skip_invalid_count = _count("Invalid Number")
    skip_blacklist_count = _count("Opted Out")
    skip_recent_count = _count("Contacted Recently")
    skip_duplicate_count = _count("Duplicate Number")
    skip_count = _count("Skipped")

    preview = fields.Text(compute="_compute_preview")
    preview_partner_id = fields.Many2one(
        "res.partner", compute="_compute_preview", string="Preview For"
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if "selected_ids" in fields_list and not values.get("selected_ids"):
            # exactly the ticked records, never the list's search domain
            if "retention_sms_partner_ids" in context:
                partner_ids = context["retention_sms_partner_ids"]
            elif context.get("active_model") == "res.partner":
                partner_ids = context.get("active_ids") or []
            else:
                partner_ids = []
            values["selected_ids"] = retention_args.record_ids(self.env, partner_ids)
        return values

    @api.constrains("selected_ids")
    def _check_selected_ids(self):
        for wizard in self:
            wizard._check_selection(wizard.selected_ids)

    @api.model
    def _check_selection(self, ids):
        """A ValidationError unless ``ids`` is a list of at most
        MAX_SELECTION record ids (checked before the row is written too: a
        float such as NaN, which JSON-RPC lets through, is no JSON for
        PostgreSQL)."""
        ids = ids or []
        if not isinstance(ids, list) or not all(
            isinstance(pid, int) and not isinstance(pid, bool) for pid in ids
        ):
            raise ValidationError(
                self.env._("The selected customers must be a list of record ids.")
            )
        if len(ids) > MAX_SELECTION:
            raise ValidationError(
                self.env._(
                    "%(count)s customers are selected: a win-back SMS campaign "
                    "takes at most %(maximum)s at a time. Narrow the selection "
                    "(filter by tier or salesperson, for instance).",
                    count=format(len(ids), ","),
                    maximum=format(MAX_SELECTION, ","),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if "selected_ids" in vals:
                self._check_selection(vals["selected_ids"])
        return super().create(vals_list)

    def write(self, vals):
        if "selected_ids" in vals:
            self._check_selection(vals["selected_ids"])
        return super().write(vals)

    @api.constrains("company_id")
    def _check_company_id(self):
        for wizard in self:
            wizard._company()

    def _company(self):
        """The company the wizard texts for: one the user works in (the
        companies of the request, which Odoo checks against the user's),
        whatever a client sent as ``company_id``. Everything the wizard reads
        of a company (its frequency cap and campaign history, its quiet hours,
        its templates) goes through here: otherwise a user of company A
        could learn whom company B texted."""
        company = self.company_id or self.env.company
        if not self.env.su and company not in self.env.companies:
            raise AccessError(
                self.env._(
                    "You can only text the customers of the companies you work in: "
                    "switch to that company first."
                )
            )
        return company

    @api.depends("selected_ids")
    def _compute_partner_ids(self):
        Partner = self.env["res.partner"].with_context(active_test=False)
        for wizard in self:
            ids = wizard.selected_ids
            valid = isinstance(ids, list) and all(isinstance(pid, int) for pid in ids)
            wizard.partner_ids = Partner.browse(ids if valid else []).exists()

    @api.model
    def action_open(self, partner_ids):
        """Window action of the wizard on ``partner_ids`` (the server action's
        entry point)."""
        partner_ids = retention_args.record_ids(self.env, partner_ids)
        self.check_access("create")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Win-back SMS"),
            "res_model": self._name,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            # not default_partner_ids: it would leak into the chatter notes' recipients
            "context": {"retention_sms_partner_ids": partner_ids},
        }

    # ------------------------------------------------------------
    # Recipients
    # ------------------------------------------------------------

    @api.depends("selected_ids", "company_id", "holdout_percent", "holdout_seed")
    def _compute_recipients(self):
        for wizard in self:
            # _origin: inside an onchange the partners are new records without ids
            buckets = wizard._classify(wizard.partner_ids._origin)
            wizard.send_partner_ids = buckets["send"]
            wizard.send_count = len(buckets["send"])
            wizard.holdout_partner_ids = buckets["holdout"]
            wizard.holdout_count = len(buckets["holdout"])
            wizard.over_limit = wizard.send_count > min(
                wizard.max_batch or MAX_QUEUED, MAX_QUEUED
            )
            for reason, fname in SKIP_REASONS.items():
                wizard[fname] = buckets[reason]
                wizard[fname.replace("_ids", "_count")] = len(buckets[reason])
            wizard.skip_count = sum(len(buckets[reason]) for reason in SKIP_REASONS)

    @api.constrains("holdout_percent")
    def _check_holdout_percent(self):
        # The company setting's own rule, from the engine.
        for wizard in self:
            problems = CampaignSettings(
                holdout_percent=wizard.holdout_percent
            ).problems()
            if problems:
                raise ValidationError(engine_problems(wizard.env, problems))

    @api.depends("company_id")
    def _compute_quiet_until(self):
        for wizard in self:
            wizard.quiet_until = self.env["retention.sms.campaign"]._quiet_until(
                wizard._company()
            )

    def _classify(self, partners):
        """Sort ``partners`` (in selection order) into 'send', 'holdout' (the
        control group drawn among those who could be texted) and one bucket
        per skip reason; also returns 'numbers': partner id -> E.164 number.

        One pass over what Odoo already keeps on partners: ``phone_sanitized``
        (mobile, else phone, in E.164 for the partner's country, else the
        company's) and ``phone_sanitized_blacklisted``; the selection's
        records are read together, and each bucket is built from a list of
        ids, whatever the size of the selection."""
        company = self._company()
        partners = partners.with_context(active_test=False)
        # One query, with the record rules in SQL (reading the ticked records
        # would check them in Python, record by record): customers the user
        # may not read are left out.
        readable = partners.search_fetch(
            [("id", "in", partners.ids)],
            [
                "active",
                "company_id",
                "mobile",
                "phone",
                "phone_sanitized",
                "retention_contact_block",
                "commercial_partner_id",
            ],
        )
        ids = {key: [] for key in ("send", *SKIP_REASONS)}
        numbers = {}
        do_not_contact = self._do_not_contact_numbers(
            {partner.phone_sanitized for partner in readable} - {False}
        )
        for partner in readable:
            company_id = partner.company_id.id
            if not partner.active:
                ids["archived"].append(partner.id)
            elif company_id and company_id != company.id:
                ids["company"].append(partner.id)
            elif (
                partner.retention_contact_block
                or partner.commercial_partner_id.retention_contact_block
                or partner.phone_sanitized in do_not_contact
            ):  # marked moved away or do not contact (retention_call.py)
                ids["contact_block"].append(partner.id)
            elif not (partner.mobile or partner.phone):
                ids["no_number"].append(partner.id)
            elif not partner.phone_sanitized:
                ids["invalid"].append(partner.id)
            elif partner.phone_sanitized_blacklisted:  # computed in batches
                ids["blacklist"].append(partner.id)
            else:
                numbers[partner.id] = partner.phone_sanitized
        # in the order the customers were ticked
        candidates = [pid for pid in partners.ids if pid in numbers]
        recent = self.env["retention.sms.campaign"]._recently_contacted(
            partners.browse(candidates), numbers, company
        )
        seen = set()
        for partner_id in candidates:
            number = numbers[partner_id]
            if partner_id in recent:
                ids["recent"].append(partner_id)
            elif number in seen:
                ids["duplicate"].append(partner_id)
            else:
                seen.add(number)
                ids["send"].append(partner_id)
        holdout = split_holdout(ids["send"], self.holdout_percent, self.holdout_seed)
        buckets = {key: partners.browse(values) for key, values in ids.items()}
        buckets["holdout"] = partners.browse(
            [pid for pid in ids["send"] if pid in holdout]
        )
        buckets["send"] = partners.browse(
            [pid for pid in ids["send"] if pid not in holdout]
        )
        buckets["numbers"] = numbers
        return buckets

    @api.model
    def _do_not_contact_numbers(self, numbers):
        """Those of ``numbers`` (E.164) that belong to a partner marked *Do
        not contact*, or to a contact of one: the mark follows the number,
        as the frequency cap does, so a second partner with the same phone
        (a duplicate, the contact of a marked company) is not texted either.
        *Moved away* stays with the customer: the number may be someone
        else's by now."""
        if not numbers:
            return set()
        # sudo: the marked partner may be one the user cannot read (another
        # salesperson's customer, another company's contact); only whether
        # a number is marked is used here, nothing of that partner is shown.
        marked = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search_read(
                [
                    ("phone_sanitized", "in", sorted(numbers)),
                    "|",
                    ("retention_contact_block", "=", "do_not_contact"),
                    (
                        "commercial_partner_id.retention_contact_block",
                        "=",
                        "do_not_contact",
                    ),
                ],
                ["phone_sanitized"],
            )
        )
        return {row["phone_sanitized"] for row in marked}

    # ------------------------------------------------------------
    # Message
    # ------------------------------------------------------------

    @api.depends("selected_ids", "company_id")
    def _compute_template_id(self):
        for wizard in self:
            if wizard.template_id:
                continue
            partners = wizard.partner_ids._origin.with_company(wizard._company())
            kind = template_for(partners.mapped("retention_status"))
            wizard.template_id = self.env.ref(
                f"customer_retention.sms_template_retention_{kind}",
                raise_if_not_found=False,
            )

    @api.depends("template_id")
    def _compute_body(self):
        for wizard in self:
            wizard.body = wizard.template_id.body or wizard.body

    @api.depends("body", "send_partner_ids")
    def _compute_preview(self):
        for wizard in self:
            partner = wizard.send_partner_ids[:1]._origin
            preview = wizard.body or ""
            if partner and wizard.body:
                preview = wizard._render_bodies(partner)[partner.id]
            wizard.preview_partner_id = partner
            wizard.preview = preview

    def _render_bodies(self, partners):
        """The text for each of ``partners`` (id -> text), rendered by Odoo's
        SMS composer with the current user's rights: a template as its
        editor saved it, an edited text under Odoo's restriction on inline
        templates (only allowed placeholders for users who are not template
        editors). Signed for the wizard's company."""
        company = self._company()
        composer = (
            self.env["sms.composer"]
            .with_company(company)
            .new(
                {
                    "composition_mode": "mass",
                    "res_model": "res.partner",
                    "template_id": self.template_id.id,
                    "body": self.body,
                }
            )
        )
        return composer._prepare_body_values(partners.with_company(company))

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_queue(self):
        retention_args.one(self)
        campaign = self._queue()
        counts = {
            "sent": campaign.sent_count,
            "holdout": campaign.holdout_count,
            "skipped": campaign.skipped_count,
        }
        if campaign.state == "held":
            message = self.env._(
                "%(sent)s SMS will be queued at %(time)s, when the quiet hours end; "
                "%(holdout)s customers kept as a control group, %(skipped)s skipped.",
                time=format_datetime(
                    self.env, campaign.release_date, dt_format="short"
                ),
                **counts,
            )
        else:
            message = self.env._(
                "%(sent)s SMS queued, %(holdout)s customers kept as a control group, "
                "%(skipped)s skipped.",
                **counts,
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if campaign.sent_count else "warning",
                "message": message,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _lock(self, company):
        """Serialise campaigns: the wizard is queued once, and two campaigns
        of one company never read the frequency cap at the same time.

        Both are row UPDATEs, not mere locks: under Odoo's REPEATABLE READ a
        concurrent run that updated the same row first makes this one fail
        with a serialization error, and Odoo retries the whole request, which
        then sees the other campaign's customers as contacted recently."""
        self.env.cr.execute(
            "UPDATE retention_sms_wizard SET state = 'done' WHERE id = %s AND state = "
            "'draft'",
            [self.id],
        )
        if not self.env.cr.rowcount:
            raise UserError(
                self.env._("These SMS have already been queued: close this dialog.")
            )
        self.env.cr.execute(
            "UPDATE res_company SET retention_sms_last_campaign = now() AT TIME ZONE "
            "'UTC' WHERE id = %s",
            [company.id],
        )
        self.invalidate_recordset(["state"])
        company.invalidate_recordset(["retention_sms_last_campaign"])

    def _queue(self):
        """Record the campaign and queue one SMS per customer to text (state
        outgoing, sent by the SMS cron) with a note in their chatter; during
        the quiet hours the SMS are held and a cron queues them when the
        hours end. Everything happens in this transaction: a run cut short
        leaves nothing behind, and running it again queues nothing twice."""
        self.ensure_one()
        # default_* keys of the dialog (default_partner_ids...) must not reach
        # the sms.sms, composer and chatter notes created below
        # (a replaced context, not merged keys: clean_context drops them)
        wizard = self.with_context(clean_context(self.env.context))  # pylint: disable=context-overridden
        company = wizard._company()
        if not wizard.partner_ids:
            raise UserError(
                wizard.env._(
                    "No customer is selected: tick the customers to text in the list, "
                    "then choose Win-back SMS."
                )
            )
        if not (wizard.body or "").strip():
            raise UserError(
                wizard.env._("Write a message or choose a template before sending.")
            )
        wizard._check_holdout_percent()
        wizard.env.flush_all()
        wizard._lock(company)
        buckets = wizard._classify(wizard.partner_ids._origin)
        recipients = buckets["send"]
        limit = min(company.retention_sms_max_batch or MAX_QUEUED, MAX_QUEUED)
        if len(recipients) > limit:
            raise UserError(
                wizard.env._(
                    "This campaign would text %(count)s customers, more than the "
                    "%(limit)s allowed per campaign "
                    "in %(company)s. Select fewer customers (filter by tier or "
                    "salesperson, for instance), or ask "
                    "an administrator to raise the limit in Settings > Customer "
                    "Retention.",
                    count=len(recipients),
                    limit=limit,
                    company=company.name,
                )
            )
        # Rendered here, as the author: the text the customers get, stored on
        # each line and sent as it is, now or when the quiet hours end.
        bodies = wizard._render_bodies(recipients) if recipients else {}
        numbers = buckets["numbers"]
        quiet_until = wizard.env["retention.sms.campaign"]._quiet_until(company)
        lines = (
            [
                fields.Command.create(
                    wizard._line_values(
                        partner,
                        CONTACTED,
                        number=numbers[partner.id],
                        body=bodies[partner.id],
                        sms_state="held",
                    )
                )
                for partner in recipients
            ]
            + [
                fields.Command.create(
                    wizard._line_values(partner, HOLDOUT, number=numbers[partner.id])
                )
                for partner in buckets["holdout"]
            ]
            + [
                fields.Command.create(
                    wizard._line_values(
                        partner,
                        "skipped",
                        skip_reason=reason,
                        number=numbers.get(partner.id),
                    )
                )
                for reason in SKIP_REASONS
                for partner in buckets[reason]
            ]
        )
        # sudo: salespeople may only read campaigns and their lines, so that
        # no one records a campaign, a line or a text the checks above did
        # not make; this is the one place that creates them, for the user's
        # own company, with the user as author.
        campaign = (
            wizard.env["retention.sms.campaign"]
            .sudo()
            .create(
                {
                    "template_id": wizard.template_id.id,
                    "body": wizard.body,
                    "company_id": company.id,
                    "user_id": wizard.env.user.id,
                    "state": "held" if quiet_until else "queued",
                    "release_date": quiet_until,
                    "queued_date": False if quiet_until else fields.Datetime.now(),
                    "holdout_percent": wizard.holdout_percent,
                    "holdout_seed": wizard.holdout_seed,
                    "holdout_count": len(buckets["holdout"]),
                    "winback_days": company.retention_sms_winback_days,
                    "line_ids": lines,
                    "sent_count": len(recipients),
                    **{
                        fname: len(buckets[reason])
                        for reason, fname in CAMPAIGN_COUNTS.items()
                    },
                }
            )
            .sudo(False)
        )
        if quiet_until:
            # sudo: salespeople may not touch crons; this only schedules the
            # addon's release job at the end of the quiet hours.
            release_cron = wizard.env.ref(
                "customer_retention.ir_cron_retention_sms_release"
            ).sudo()
            release_cron._trigger(at=quiet_until)
        elif recipients:
            campaign._send_lines(
                campaign.line_ids.filtered(lambda line: line.kind == CONTACTED)
            )
        wizard.campaign_id = campaign
        return campaign

    @api.model
    def _line_values(self, partner, kind, **values):
        return {
            "partner_id": partner.id,
            "commercial_partner_id": partner.commercial_partner_id.id,
            "kind": kind,
            **values,
        }

    def action_open_skipped(self):
        """The skipped customers; ``reason`` in the context narrows to one reason."""
        retention_args.one(self)
        reason = self.env.context.get("reason")
        fnames = (
            [SKIP_REASONS[reason]]
            if isinstance(reason, str) and reason in SKIP_REASONS
            else list(SKIP_REASONS.values())
        )
        partners = self.partner_ids.browse()
        for fname in fnames:
            partners |= self[fname]
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Skipped Customers"),
            "res_model": "res.partner",
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", partners.ids)],
            "context": {"active_test": False, "create": False},
        }
