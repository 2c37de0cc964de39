# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..engine import ACTIONS, ALERTS, PROFILES, STATUSES, TIERS
from . import retention_store

# Selections that group and sort in their business order (New, Active, At
# risk, Lost; Top 10% first) rather than in the alphabetical order of their keys.
RETENTION_RANKED_SELECTIONS = (
    "retention_status",
    "retention_group_tier",
    "retention_alert",
)

# Placeholders of the win-back texts that a salesperson may keep in an edited
# text without being a template editor (Odoo's allow-list for inline templates).
RETENTION_TEMPLATE_EXPRESSIONS = (
    "object.retention_days_since_last",
    "object.retention_sms_signature",
)

# Retention values are business figures: sales users only, as sale's own
# partner figures (sale_order_count, total_invoiced).
SALES_USERS = "sales_team.group_sale_salesman"


def _retention_field(field_class, string, **kwargs):
    """Every retention value is per company (jsonb keyed by company id), read
    only and written in bulk by the recompute, never by a per-order compute.
    No index: Odoo's default for company-dependent fields, (column IS NOT
    NULL), serves no retention search and makes every bulk write-back update
    one index per field."""
    kwargs.setdefault("index", False)
    return field_class(
        string=string,
        company_dependent=True,
        readonly=True,
        copy=False,
        groups=SALES_USERS,
        **kwargs,
    )


def _retention_figure(string, help_text):
    """A retention value with one decimal, averaged in lists and pivots."""
    return _retention_field(
        fields.Float, string, digits=(16, 1), aggregator="avg", help=help_text
    )


class ResPartner(models.Model):
    _inherit = "res.partner"

    retention_first_order_date = _retention_field(
        fields.Date,
        "First Order",
        help="Day of the customer's first order in this company.",
    )
    retention_last_order_date = _retention_field(
        fields.Date,
        "Last Order",
        help="Day of the customer's latest order in this company.",
    )
    retention_visit_count = _retention_field(
        fields.Integer,
        "Visits",
        help="Days with at least one order inside the look-back window "
        "(two orders on the same day are one visit).",
    )
    retention_revenue = _retention_field(
        fields.Float,
        "Retention Revenue",
        digits="Product Price",
        help="Untaxed sales in the company currency inside the look-back window, net "
        "of credit notes.",
    )
    retention_avg_ticket = _retention_field(
        fields.Float,
        "Average Ticket",
        digits="Product Price",
        aggregator="avg",
        help="Revenue per visit inside the look-back window.",
    )
    retention_cadence_days = _retention_figure(
        "Usual Interval (days)",
        "Median number of days between two consecutive visits: the customer's own "
        "rhythm.",
    )
    retention_days_since_last = _retention_field(
        fields.Integer,
        "Days Since Last Order",
        aggregator="avg",
        help="Days since the last visit, on the day of the last recompute.",
    )
    retention_next_order_date = _retention_field(
        fields.Date, "Next Expected Order", help="Last visit plus the usual interval."
    )
    retention_status = _retention_field(
        fields.Selection,
        "Retention Status",
        selection=list(STATUSES),
        # Kanban columns New, Active, At risk, Lost even when one is empty.
        group_expand=True,
        help="New: first order recently. Active: buys at their usual rhythm. "
        "At risk: overdue against their usual rhythm. Lost: no order for a long time.",
    )
    retention_overdue = _retention_field(
        fields.Boolean,
        "Overdue",
        help="The next expected order is past and the customer is not lost yet.",
    )
    retention_trend_pct = _retention_figure(
        "Sales Trend (%)",
        "Change of sales in the last period against the period before (see Settings).",
    )
    retention_group_top_pct = _retention_figure(
        "Rank in Group (top %)",
        "7.5 means the customer is in the top 7.5% of their peer group by revenue.",
    )
    retention_group_tier = _retention_field(
        fields.Selection, "Group Tier", selection=list(TIERS), group_expand=True
    )
    retention_profile = _retention_field(
        fields.Selection, "Behaviour Profile", selection=list(PROFILES)
    )
    retention_alert = _retention_field(
        fields.Selection, "Retention Alert", selection=list(ALERTS)
    )
    retention_action = _retention_field(
        fields.Selection, "Suggested Action", selection=list(ACTIONS)
    )
    retention_reason = _retention_field(fields.Char, "Retention Reason")
    retention_computed_at = _retention_field(fields.Datetime, "Retention Computed On")

    retention_sms_line_ids = fields.One2many(
        "retention.sms.campaign.line",
        "partner_id",
        string="Win-back SMS",
        readonly=True,
        groups=SALES_USERS,
    )
    retention_sms_signature = fields.Char(
        "Win-back SMS Signature",
        compute="_compute_retention_sms_signature",
        help="The name win-back SMS are signed with: the company sending them.",
    )

    def _retention_rank_sql(self, field_name, sql_value):
        keys = [key for key, _label in self._fields[field_name].selection]
        return SQL("array_position(%s::text[], %s)", keys, sql_value)

    def _read_group_orderby(self, order, groupby_terms, query):
        # Pivot rows and columns, graph bars, grouped lists and search panel.
        ranked = {
            spec: self._retention_rank_sql(spec, sql)
            if spec in RETENTION_RANKED_SELECTIONS
            else sql
            for spec, sql in groupby_terms.items()
        }
        return super()._read_group_orderby(order, ranked, query)

    def _order_field_to_sql(self, alias, field_name, direction, nulls, query):
        # Sorting a list on the Status, Tier or Alert column.
        if field_name in RETENTION_RANKED_SELECTIONS:
            sql_value = self._field_to_sql(alias, field_name, query)
            return SQL(
                "%s %s %s",
                self._retention_rank_sql(field_name, sql_value),
                direction,
                nulls,
            )
        return super()._order_field_to_sql(alias, field_name, direction, nulls, query)

    # ------------------------------------------------------------
    # Only the engine writes retention values
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_retention_values_untouched(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_retention_values_untouched(vals)
        return super().write(vals)

    def _check_retention_values_untouched(self, vals):
        # Read-only in the views protects nothing over RPC: a user who may
        # edit contacts could otherwise set a status and steer which SMS
        # template the wizard picks. Server code (superuser) is trusted.
        touched = sorted(set(vals) & set(retention_store.ALL_FIELDS))
        if touched and not self.env.su:
            raise AccessError(
                self.env._(
                    "Customer retention values (%(fields)s) are computed from the "
                    "orders every night and cannot be edited. Use Recompute now on "
                    "the customer's Retention tab to bring them up to date.",
                    fields=", ".join(
                        self._fields[name]._description_string(self.env)
                        for name in touched
                    ),
                )
            )

    # ------------------------------------------------------------
    # Win-back SMS templates
    # ------------------------------------------------------------

    def mail_allowed_qweb_expressions(self):
        # Users who are not template editors may edit a win-back text that
        # uses these plain fields; anything else needs the editor group.
        return super().mail_allowed_qweb_expressions() + RETENTION_TEMPLATE_EXPRESSIONS

    @api.depends_context("company")
    def _compute_retention_sms_signature(self):
        for partner in self:
            partner.retention_sms_signature = self.env.company.name

    # ------------------------------------------------------------
    # Entry points
    # ------------------------------------------------------------

    @api.model
    def retention_recompute(self, as_of=None):
        """Recompute the retention values of every customer of the companies
        the caller works in (all companies for server code), at once.

        For scripts and back-tests; the web client hands whole-company
        recomputes to the daily job instead (Settings > Recompute now).

        :param as_of: reference date (date or ISO string), at most today;
            today in each company's time zone when omitted. Orders after it
            are ignored, so a past date gives a back-test.
        :return: number of customers written
        """
        if not (
            self.env.su or self.env.user.has_group("sales_team.group_sale_manager")
        ):
            raise AccessError(
                self.env._(
                    "Only Sales administrators can recompute customer retention for "
                    "the whole company."
                )
            )
        # Only the companies the caller works in: a manager of one company
        # never rewrites another's values.
        companies = (
            self.env["res.company"].search([]) if self.env.su else self.env.companies
        )
        wait = retention_store.UI_LOCK_WAIT
        return sum(
            company._retention_recompute(as_of, lock_wait=wait)["customers"]
            for company in companies
        )

    def action_retention_recompute(self):
        """Form button: bring these customers up to date for the current
        company at once, without waiting for the night."""
        if not self.env.user.has_group("sales_team.group_sale_salesman"):
            raise AccessError(
                self.env._("Only Sales users can recompute customer retention.")
            )
        self.check_access("read")
        customers = self.commercial_partner_id
        self.env.company._retention_recompute(
            partner_ids=customers.ids, lock_wait=retention_store.UI_LOCK_WAIT
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": self.env._(
                    "Retention of %(names)s recomputed.",
                    names=", ".join(customers.mapped("display_name")),
                ),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
