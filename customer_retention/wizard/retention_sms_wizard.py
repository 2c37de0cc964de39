# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import math
from collections import Counter

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import clean_context
from odoo.addons.phone_validation.tools import phone_validation

# The GSM 03.38 alphabet: a message made only of these characters is encoded
# on 7 bits (160 characters, 153 per part when split); anything else forces
# UCS-2 (70 characters, 67 per part). Extension characters take two places.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")

# retention status -> sms.template xml id; Active customers get the at-risk text.
STATUS_TEMPLATES = {
    "at_risk": "customer_retention.sms_template_retention_at_risk",
    "active": "customer_retention.sms_template_retention_at_risk",
    "lost": "customer_retention.sms_template_retention_lost",
    "new": "customer_retention.sms_template_retention_new",
}

# skip reason -> wizard field holding the partners skipped for it, in the
# order the reasons are checked (each partner is skipped for the first one).
SKIP_REASONS = {
    "archived": "skip_archived_ids",
    "company": "skip_company_ids",
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
    "no_number": "skipped_no_number_count",
    "invalid": "skipped_invalid_count",
    "blacklist": "skipped_blacklist_count",
    "recent": "skipped_recent_count",
    "duplicate": "skipped_duplicate_count",
}

# partner fields list archived partners too: they are selected, then skipped
ACTIVE_AND_ARCHIVED = {"active_test": False}


def sms_segments(text):
    """(encoding, number of SMS parts) needed to send ``text``."""
    if not text:
        return "gsm7", 0
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        length = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        return "gsm7", 1 if length <= 160 else math.ceil(length / 153)
    # UCS-2 counts UTF-16 code units: an emoji takes two.
    length = len(text.encode("utf-16-le")) // 2
    return "unicode", 1 if length <= 70 else math.ceil(length / 67)


def e164(number, country):
    """``number`` in E.164 for ``country``, or False if it cannot be a phone number."""
    try:
        return phone_validation.phone_format(
            number, country.code or None, country.phone_code, force_format="E164", raise_exception=True
        )
    except UserError:
        return False


class RetentionSmsWizard(models.TransientModel):
    _name = "retention.sms.wizard"
    _description = "Win-back SMS"

    partner_ids = fields.Many2many(
        "res.partner",
        "retention_sms_wizard_partner_rel",
        "wizard_id",
        "partner_id",
        string="Selected Customers",
        context=ACTIVE_AND_ARCHIVED,
    )
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, readonly=True)
    template_id = fields.Many2one(
        "sms.template",
        string="Template",
        domain="[('model', '=', 'res.partner')]",
        compute="_compute_template_id",
        store=True,
        readonly=False,
    )
    body = fields.Text(compute="_compute_body", store=True, readonly=False)

    send_partner_ids = fields.Many2many("res.partner", compute="_compute_recipients", string="Customers: To Send", context=ACTIVE_AND_ARCHIVED)
    skip_archived_ids = fields.Many2many("res.partner", compute="_compute_recipients", string="Customers: Archived", context=ACTIVE_AND_ARCHIVED)
    skip_company_ids = fields.Many2many("res.partner", compute="_compute_recipients", string="Customers: Other Company", context=ACTIVE_AND_ARCHIVED)
    skip_no_number_ids = fields.Many2many("res.partner", compute="_compute_recipients", string="Customers: No Number", context=ACTIVE_AND_ARCHIVED)
    skip_invalid_ids = fields.Many2many("res.partner", compute="_compute_recipients", string="Customers: Invalid Number", context=ACTIVE_AND_ARCHIVED)
    skip_blacklist_ids = fields.Many2many("res.partner", compute="_compute_recipients", string="Customers: Opted Out", context=ACTIVE_AND_ARCHIVED)
    skip_recent_ids = fields.Many2many("res.partner", compute="_compute_recipients", string="Customers: Contacted Recently", context=ACTIVE_AND_ARCHIVED)
    skip_duplicate_ids = fields.Many2many("res.partner", compute="_compute_recipients", string="Customers: Duplicate Number", context=ACTIVE_AND_ARCHIVED)
    send_count = fields.Integer(compute="_compute_recipients", string="To Send")
    skip_archived_count = fields.Integer(compute="_compute_recipients", string="Archived")
    skip_company_count = fields.Integer(compute="_compute_recipients", string="Other Company")
    skip_no_number_count = fields.Integer(compute="_compute_recipients", string="No Number")
    skip_invalid_count = fields.Integer(compute="_compute_recipients", string="Invalid Number")
    skip_blacklist_count = fields.Integer(compute="_compute_recipients", string="Opted Out")
    skip_recent_count = fields.Integer(compute="_compute_recipients", string="Contacted Recently")
    skip_duplicate_count = fields.Integer(compute="_compute_recipients", string="Duplicate Number")
    skip_count = fields.Integer(compute="_compute_recipients", string="Skipped")

    preview = fields.Text(compute="_compute_preview", string="Preview")
    preview_partner_id = fields.Many2one("res.partner", compute="_compute_preview", string="Preview For")
    encoding = fields.Selection(
        [("gsm7", "GSM-7"), ("unicode", "Unicode")], compute="_compute_preview", string="Encoding"
    )
    segment_count = fields.Integer(compute="_compute_preview", string="SMS per Customer")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if "partner_ids" in fields_list and not values.get("partner_ids"):
            # exactly the ticked records, never the list's search domain
            if "retention_sms_partner_ids" in context:
                partner_ids = context["retention_sms_partner_ids"]
            elif context.get("active_model") == "res.partner":
                partner_ids = context.get("active_ids") or []
            else:
                partner_ids = []
            values["partner_ids"] = [fields.Command.set(partner_ids)]
        return values

    @api.model
    def action_open(self, partner_ids):
        """Window action of the wizard on ``partner_ids`` (the server action's entry point)."""
        self.check_access("create")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Win-back SMS"),
            "res_model": self._name,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            # not default_partner_ids: it would leak into the chatter notes' recipients
            "context": {"retention_sms_partner_ids": list(partner_ids)},
        }

    # ------------------------------------------------------------
    # Recipients
    # ------------------------------------------------------------

    @api.depends("partner_ids", "company_id")
    def _compute_recipients(self):
        for wizard in self:
            # _origin: inside an onchange the partners are new records without ids
            buckets = wizard._classify(wizard.partner_ids._origin)
            wizard.send_partner_ids = buckets["send"]
            wizard.send_count = len(buckets["send"])
            for reason, fname in SKIP_REASONS.items():
                wizard[fname] = buckets[reason]
                wizard[fname.replace("_ids", "_count")] = len(buckets[reason])
            wizard.skip_count = sum(len(buckets[reason]) for reason in SKIP_REASONS)

    def _classify(self, partners):
        """Sort ``partners`` (in selection order) into 'send' and one bucket
        per skip reason; also returns 'numbers': partner id -> E.164 number."""
        company = self.company_id or self.env.company
        partners = partners.with_context(active_test=False)
        buckets = {key: partners.browse() for key in ("send", *SKIP_REASONS)}
        numbers = {}
        candidates = []
        for partner in partners:
            if not partner.active:
                buckets["archived"] |= partner
            elif partner.company_id and partner.company_id != company:
                buckets["company"] |= partner
            elif not (partner.mobile or partner.phone):
                buckets["no_number"] |= partner
            else:
                number = self._partner_number(partner, company)
                if not number:
                    buckets["invalid"] |= partner
                else:
                    numbers[partner.id] = number
                    candidates.append(partner)

        # sudo: salespeople may not read phone.blacklist, yet no opted-out
        # number may ever be texted; only the matching numbers are read.
        blacklisted = set(self.env["phone.blacklist"].sudo().search(
            [("number", "in", list(numbers.values()))]
        ).mapped("number"))
        recent = self.env["retention.sms.campaign"]._recently_contacted(
            partners.browse([p.id for p in candidates]), company
        )
        seen = set()
        for partner in candidates:
            number = numbers[partner.id]
            if number in blacklisted:
                buckets["blacklist"] |= partner
            elif partner in recent:
                buckets["recent"] |= partner
            elif number in seen:
                buckets["duplicate"] |= partner
            else:
                seen.add(number)
                buckets["send"] |= partner
        buckets["numbers"] = numbers
        return buckets

    @api.model
    def _partner_number(self, partner, company):
        """The first of mobile, phone that is a valid number, in E.164, read
        with the partner's country, else the company's."""
        country = partner.country_id or company.country_id
        for number in (partner.mobile, partner.phone):
            formatted = number and e164(number, country)
            if formatted:
                return formatted
        return False

    # ------------------------------------------------------------
    # Message
    # ------------------------------------------------------------

    @api.depends("partner_ids", "company_id")
    def _compute_template_id(self):
        for wizard in self:
            if wizard.template_id:
                continue
            partners = wizard.partner_ids._origin.with_company(wizard.company_id or self.env.company)
            statuses = Counter(status for status in partners.mapped("retention_status") if status)
            dominant = statuses.most_common(1)[0][0] if statuses else "at_risk"
            wizard.template_id = self.env.ref(STATUS_TEMPLATES[dominant], raise_if_not_found=False)

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
            wizard.encoding, wizard.segment_count = sms_segments(preview)

    def _render_bodies(self, partners):
        partners = partners.with_company(self.company_id or self.env.company)
        if self.template_id and self.body == self.template_id.body:
            return self.template_id._render_field("body", partners.ids, compute_lang=True)
        return self.env["mail.render.mixin"].with_company(self.company_id)._render_template(
            self.body, "res.partner", partners.ids
        )

    # ------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------

    def action_queue(self):
        campaign = self._queue()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if campaign.sent_count else "warning",
                "message": self.env._(
                    "%(sent)s SMS queued, %(skipped)s customers skipped.",
                    sent=campaign.sent_count,
                    skipped=campaign.skipped_count,
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _queue(self):
        """Queue one SMS per partner to send (state outgoing, sent by the SMS
        cron), log it in their chatter and return the campaign recording it."""
        self.ensure_one()
        # default_* keys of the dialog (default_partner_ids...) must not reach
        # the sms.sms, composer and chatter notes created below
        wizard = self.with_context(clean_context(self.env.context))
        if not (wizard.body or "").strip():
            raise UserError(wizard.env._("Write a message or choose a template before sending."))
        company = wizard.company_id or wizard.env.company
        buckets = wizard._classify(wizard.partner_ids._origin)
        recipients = buckets["send"].with_company(company)
        template = wizard.template_id if wizard.template_id and wizard.body == wizard.template_id.body else False
        if recipients:
            recipients._message_sms_schedule_mass(
                body=wizard.body, template=template, mass_keep_log=True, mass_force_send=False
            )
        skipped = wizard.partner_ids.browse()
        for reason in SKIP_REASONS:
            skipped |= buckets[reason]
        campaign = wizard.env["retention.sms.campaign"].create({
            "template_id": wizard.template_id.id,
            "body": wizard.body,
            "company_id": company.id,
            "partner_ids": [fields.Command.set(recipients.ids)],
            "skipped_partner_ids": [fields.Command.set(skipped.ids)],
            "sent_count": len(recipients),
            **{fname: len(buckets[reason]) for reason, fname in CAMPAIGN_COUNTS.items()},
        })
        return campaign

    def action_open_skipped(self):
        """The skipped customers; ``reason`` in the context narrows to one reason."""
        self.ensure_one()
        reason = self.env.context.get("reason")
        fnames = [SKIP_REASONS[reason]] if reason in SKIP_REASONS else list(SKIP_REASONS.values())
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
