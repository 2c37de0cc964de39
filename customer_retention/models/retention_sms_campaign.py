# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError


class RetentionSmsCampaign(models.Model):
    """One run of the win-back SMS wizard: who was texted, who was skipped.

    The frequency cap reads these records, so they are the memory of who was
    contacted when."""

    _name = "retention.sms.campaign"
    _description = "Retention SMS Campaign"
    _order = "date desc, id desc"

    name = fields.Char(required=True, default=lambda self: self.env._("Win-back SMS"))
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True, index=True)
    template_id = fields.Many2one("sms.template", string="Template", readonly=True, ondelete="set null")
    body = fields.Text(readonly=True)
    user_id = fields.Many2one(
        "res.users", string="Author", required=True, readonly=True, default=lambda self: self.env.user
    )
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True, default=lambda self: self.env.company
    )
    partner_ids = fields.Many2many(
        "res.partner",
        "retention_sms_campaign_contacted_rel",
        "campaign_id",
        "partner_id",
        string="Contacted Customers",
        readonly=True,
    )
    skipped_partner_ids = fields.Many2many(
        "res.partner",
        "retention_sms_campaign_skipped_rel",
        "campaign_id",
        "partner_id",
        string="Skipped Customers",
        readonly=True,
        context={"active_test": False},
    )
    sent_count = fields.Integer("Queued", readonly=True)
    skipped_no_number_count = fields.Integer("No Number", readonly=True)
    skipped_invalid_count = fields.Integer("Invalid Number", readonly=True)
    skipped_blacklist_count = fields.Integer("Opted Out", readonly=True)
    skipped_recent_count = fields.Integer("Contacted Recently", readonly=True)
    skipped_duplicate_count = fields.Integer("Duplicate Number", readonly=True)
    skipped_company_count = fields.Integer("Other Company", readonly=True)
    skipped_archived_count = fields.Integer("Archived", readonly=True)
    skipped_count = fields.Integer("Skipped", compute="_compute_skipped_count")

    @api.depends(
        "skipped_no_number_count", "skipped_invalid_count", "skipped_blacklist_count",
        "skipped_recent_count", "skipped_duplicate_count", "skipped_company_count",
        "skipped_archived_count",
    )
    def _compute_skipped_count(self):
        for campaign in self:
            campaign.skipped_count = sum(
                campaign[fname] for fname in self._fields
                if fname.startswith("skipped_") and fname.endswith("_count") and fname != "skipped_count"
            )

    @api.model
    def _recently_contacted(self, partners, company):
        """The partners among ``partners`` that a campaign of ``company``
        texted within the company's frequency cap (0 days = no cap)."""
        cap_days = company.retention_sms_cap_days
        if cap_days <= 0 or not partners:
            return partners.browse()
        since = fields.Datetime.now() - timedelta(days=cap_days)
        # sudo: the cap counts every campaign of the company, also those of
        # colleagues the current user may not see; the company is filtered here.
        campaigns = self.sudo().search([
            ("company_id", "=", company.id),
            ("date", ">=", since),
            ("partner_ids", "in", partners.ids),
        ])
        return partners & campaigns.partner_ids.with_env(partners.env)

    def action_open_contacted(self):
        return self._partner_action(self.partner_ids, self.env._("Contacted Customers"))

    def action_open_skipped(self):
        return self._partner_action(self.skipped_partner_ids, self.env._("Skipped Customers"))

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


class ResCompany(models.Model):
    _inherit = "res.company"

    retention_sms_cap_days = fields.Integer(
        string="SMS Frequency Cap (days)",
        default=30,
        help="A customer texted by a win-back SMS campaign is not texted again "
        "for this many days. 0 disables the cap.",
    )

    @api.constrains("retention_sms_cap_days")
    def _check_retention_sms_cap_days(self):
        for company in self:
            if company.retention_sms_cap_days < 0:
                raise ValidationError(self.env._(
                    "The SMS frequency cap of %(company)s cannot be negative (got %(days)s): enter a "
                    "number of days, or 0 to allow texting the same customer again at any time.",
                    company=company.name, days=company.retention_sms_cap_days,
                ))
