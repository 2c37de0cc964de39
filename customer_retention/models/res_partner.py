# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import threading
import time

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..engine import ACTIONS, ALERTS, PROFILES, STATUSES, TIERS, compute_metrics, render_reasons
from . import retention_store

_logger = logging.getLogger(__name__)

# Selections that group and sort in their business order (New, Active, At
# risk, Lost; Top 10% first) rather than in the alphabetical order of their keys.
RETENTION_RANKED_SELECTIONS = ("retention_status", "retention_group_tier", "retention_alert")


def _retention_field(field_class, string, **kwargs):
    """Every retention value is per company (jsonb keyed by company id), read
    only and written in bulk by the recompute, never by a per-order compute.
    No index: Odoo's default for company-dependent fields, (column IS NOT
    NULL), serves no retention search and makes every bulk write-back update
    one index per field."""
    kwargs.setdefault("index", False)
    return field_class(string=string, company_dependent=True, readonly=True, copy=False, **kwargs)


class ResPartner(models.Model):
    _inherit = "res.partner"

    retention_first_order_date = _retention_field(
        fields.Date, "First Order", help="Day of the customer's first order in this company."
    )
    retention_last_order_date = _retention_field(
        fields.Date, "Last Order", help="Day of the customer's latest order in this company."
    )
    retention_order_count = _retention_field(
        fields.Integer,
        "Visits",
        help="Days with at least one order inside the look-back window "
        "(two orders on the same day are one visit).",
    )
    retention_revenue = _retention_field(
        fields.Float,
        "Retention Revenue",
        digits="Product Price",
        help="Untaxed sales in the company currency inside the look-back window, net of credit notes.",
    )
    retention_avg_ticket = _retention_field(
        fields.Float, "Average Ticket", digits="Product Price", aggregator="avg",
        help="Revenue per visit inside the look-back window.",
    )
    retention_cadence_days = _retention_field(
        fields.Float,
        "Usual Interval (days)",
        digits=(16, 1),
        aggregator="avg",
        help="Median number of days between two consecutive visits: the customer's own rhythm.",
    )
    retention_days_since_last = _retention_field(
        fields.Integer, "Days Since Last Order", aggregator="avg",
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
    retention_trend_pct = _retention_field(
        fields.Float,
        "Sales Trend (%)",
        digits=(16, 1),
        aggregator="avg",
        help="Change of sales in the last period against the period before (see Settings).",
    )
    retention_group_top_pct = _retention_field(
        fields.Float,
        "Rank in Group (top %)",
        digits=(16, 1),
        aggregator="avg",
        help="7.5 means the customer is in the top 7.5% of their peer group by revenue.",
    )
    retention_group_tier = _retention_field(
        fields.Selection, "Group Tier", selection=list(TIERS), group_expand=True
    )
    retention_profile = _retention_field(fields.Selection, "Behaviour Profile", selection=list(PROFILES))
    retention_alert = _retention_field(fields.Selection, "Retention Alert", selection=list(ALERTS))
    retention_action = _retention_field(fields.Selection, "Suggested Action", selection=list(ACTIONS))
    retention_reason = _retention_field(fields.Char, "Retention Reason")
    retention_computed_at = _retention_field(fields.Datetime, "Retention Computed On")

    def init(self):
        super().init()
        retention_store.create_change_indexes(self.env.cr)

    def _retention_rank_sql(self, field_name, sql_value):
        keys = [key for key, _label in self._fields[field_name].selection]
        return SQL("array_position(%s::text[], %s)", keys, sql_value)

    def _read_group_orderby(self, order, groupby_terms, query):
        # Pivot rows and columns, graph bars, grouped lists and search panel.
        ranked = {
            spec: self._retention_rank_sql(spec, sql) if spec in RETENTION_RANKED_SELECTIONS else sql
            for spec, sql in groupby_terms.items()
        }
        return super()._read_group_orderby(order, ranked, query)

    def _order_field_to_sql(self, alias, field_name, direction, nulls, query):
        # Sorting a list on the Status, Tier or Alert column.
        if field_name in RETENTION_RANKED_SELECTIONS:
            sql_value = self._field_to_sql(alias, field_name, query)
            return SQL("%s %s %s", self._retention_rank_sql(field_name, sql_value), direction, nulls)
        return super()._order_field_to_sql(alias, field_name, direction, nulls, query)

    @api.model
    def retention_recompute(self, as_of=None):
        """Recompute the retention values of every customer of every company.

        :param as_of: reference date (date or ISO string); today in each
            company's time zone when omitted. Orders after it are ignored, so
            a past date gives a back-test.
        :return: number of customers written
        """
        self._check_retention_recompute_access()
        companies = self.env["res.company"].sudo().search([])
        return sum(self._retention_recompute_company(company, as_of)["customers"] for company in companies)

    @api.model
    def _cron_retention_recompute(self):
        """Daily job: one company per batch. The cron runner commits after each
        batch, so an interrupted run keeps the companies already done and the
        next run picks up the others (those not recomputed today)."""
        companies = self.env["res.company"].sudo().search([], order="id")
        now = fields.Datetime.now()
        todo = companies.filtered(
            lambda c: not c.retention_last_run
            or c.retention_last_run.date() < self._retention_today(c, now)
        )
        if not todo:
            self.env["ir.cron"]._notify_progress(done=0, remaining=0)
            return
        self._retention_recompute_company(todo[0], commit_batches=True)
        self.env["ir.cron"]._notify_progress(done=1, remaining=len(todo) - 1)

    @api.model
    def _cron_retention_recompute_changed(self):
        """Hourly job: bring the customers whose orders changed since the
        night's full run up to date, one company per call (the full run
        itself is left to the daily job, also for companies never computed)."""
        companies = self.env["res.company"].sudo().search([("retention_last_run", "!=", False)], order="id")
        for company in companies:
            self._retention_recompute_changed(company)
        self.env["ir.cron"]._notify_progress(done=len(companies), remaining=0)

    @api.model
    def _retention_recompute_changed(self, company, as_of=None):
        """Recompute only the customers whose orders changed since the last
        full recompute of ``company`` (new, edited or cancelled orders); their
        ranks are taken against the stored revenue of the others, and the next
        full recompute makes every rank exact again. Without a full run yet,
        recompute everything."""
        if not company.retention_last_run:
            return self._retention_recompute_company(company, as_of)
        self.env.flush_all()
        changed = retention_store.changed_customers(company, company.retention_last_run)
        if not changed:
            return {"customers": 0, "cleared": 0, "extract_s": 0.0, "engine_s": 0.0, "write_s": 0.0}
        return self._retention_recompute_company(company, as_of, partner_ids=changed)

    @api.model
    def _retention_today(self, company, now=None):
        tz = retention_store.company_timezone(company)
        return fields.Datetime.context_timestamp(
            self.with_context(tz=tz), now or fields.Datetime.now()
        ).date()

    def _check_retention_recompute_access(self):
        # The recompute reads every order of every company with SQL: only
        # sales administrators (and the cron, which runs as superuser) may
        # trigger it, whatever RPC route calls this public method.
        if not (self.env.su or self.env.user.has_group("sales_team.group_sale_manager")):
            raise AccessError(
                self.env._("Only Sales administrators can recompute customer retention for the whole company.")
            )

    def action_retention_recompute(self):
        """Form button: bring these customers up to date for the current
        company at once, without waiting for the night."""
        self.check_access("read")
        customers = self.commercial_partner_id
        self._retention_recompute_company(self.env.company, partner_ids=customers.ids)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": self.env._("Retention of %(names)s recomputed.",
                                      names=", ".join(customers.mapped("display_name"))),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _retention_recompute_company(self, company, as_of=None, partner_ids=None, commit_batches=False):
        """Recompute one company: all its customers, or only ``partner_ids``
        (commercial partners), ranked then against the stored revenue of the
        others in their groups. ``commit_batches`` (the cron, outside tests,
        whose cursor may not commit) commits after each written batch: row
        locks on res_partner last one batch, not the whole run."""
        started = time.perf_counter()
        as_of = fields.Date.to_date(as_of) if as_of else self._retention_today(company)
        settings = company._retention_settings()
        computed_at = fields.Datetime.now().replace(microsecond=0)
        # The extract reads with SQL: pending ORM writes must reach the database.
        self.env.flush_all()
        transactions = retention_store.extract_transactions(company, as_of, partner_ids=partner_ids)
        extracted = time.perf_counter()
        customer_ids = transactions["partner_id"].unique()
        groups = retention_store.extract_groups(company, customer_ids)
        peers = None
        if partner_ids is not None:
            peers = retention_store.extract_peer_revenue(company, groups, exclude_ids=partner_ids)
        metrics = compute_metrics(transactions, as_of, settings, groups=groups, peers=peers)
        metrics["reason"] = render_reasons(metrics, settings, gettext=self._retention_gettext(company))
        computed = time.perf_counter()
        # Odoo's own convention (sms.sms._process_queue): no commit in tests
        commit = commit_batches and not getattr(threading.current_thread(), "testing", False)
        retention_store.write_metrics(company, metrics, computed_at, commit=commit)
        cleared = retention_store.clear_stale(company, metrics["partner_id"].to_numpy(), partner_ids)
        self.invalidate_model(retention_store.ALL_FIELDS)
        if partner_ids is None:
            company.sudo().retention_last_run = computed_at
        stats = {
            "customers": len(metrics),
            "cleared": cleared,
            "extract_s": extracted - started,
            "engine_s": computed - extracted,
            "write_s": time.perf_counter() - computed,
        }
        _logger.info(
            "Customer retention of %(company)s as of %(as_of)s: %(customers)d customers, %(cleared)d "
            "cleared (extract %(extract_s).2fs, engine %(engine_s).2fs, write %(write_s).2fs)",
            dict(stats, company=company.name, as_of=as_of),
        )
        return stats

    @api.model
    def _retention_gettext(self, company):
        """Reasons are stored once per company, in the company's language."""
        env = self.with_context(lang=company.partner_id.lang or self.env.lang).env

        def gettext(template):
            return env._(template)

        return gettext
