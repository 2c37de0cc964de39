# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

import pandas as pd
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL

from ..engine import (
    ACTIONS,
    ALERTS,
    MODELS,
    NO_PREDICTION,
    PROFILES,
    STATUSES,
    TIERS,
    VALUE_COLUMNS,
    daily_figures,
    render_reasons,
    rules,
)
from ..engine.judgement import shown_chance, verdict_columns
from ..engine.summary import SUMMARY_COLUMNS
from . import retention_args, retention_domain, retention_rules, retention_store
from .engine_text import engine_text
from .retention_call import CONTACT_BLOCKS
from .retention_partner_state import last_order_side, ticket_band

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


# res.partner field retention_<column> -> its column (or derived value) in
# retention.partner.state
RETENTION_COLUMNS = {f"retention_{column}": column for column in VALUE_COLUMNS}
# The customer summary (engine/summary.py) and the bands derived on read from
# the company's settings (retention.partner.state): fields declared in
# res_partner_summary.py.
SUMMARY_STATE_COLUMNS = tuple(SUMMARY_COLUMNS)
SUMMARY_ID_COLUMNS = (
    "main_categ_id",
    "preferred_user_id",
    "last_team_id",
    "last_warehouse_id",
    "first_source_id",
)
RETENTION_COLUMNS.update(
    {
        f"retention_{column}": column
        for column in (*SUMMARY_STATE_COLUMNS, "ticket_band", "last_order_side")
    }
)
# The outlook (engine/predict.py), written by the nightly prediction phase.
PREDICTION_STATE_COLUMNS = tuple(
    column for column, _type in retention_store.PREDICTION_STATE_COLUMNS
)
RETENTION_COLUMNS.update(
    {f"retention_{column}": column for column in PREDICTION_STATE_COLUMNS}
)
# Shown, not searched: the sentence is written for the reader on the day.
RETENTION_DISPLAY_FIELDS = ("retention_reason", "retention_computed_at")
RETENTION_FIELDS = tuple(RETENTION_COLUMNS) + RETENTION_DISPLAY_FIELDS
# Read with the row's values, for "computed on".
_STAMP_COLUMNS = ("changed_at",)
_DATE_COLUMNS = ("first_order_date", "last_order_date", "next_order_date")


def _searcher(column):
    def search(records, operator, value):
        return records._search_retention(f"retention_{column}", operator, value)

    return search


def _retention_field(field_class, string, **kwargs):
    """A retention value of the current company: read from the customer's row
    of retention.partner.state for that company, searched, sorted and grouped
    through a join to it (see ``_field_to_sql``), never written through the
    ORM. Nothing is stored on res_partner: a nightly run no longer rewrites
    the partner table."""
    column = kwargs.pop("column", None)
    return field_class(
        string=string,
        compute="_compute_retention_values",
        search=_searcher(column) if column else None,
        readonly=True,
        copy=False,
        groups=SALES_USERS,
        **kwargs,
    )


def _retention_figure(string, column, help_text):
    """A retention value with one decimal, averaged in lists and pivots."""
    return _retention_field(
        fields.Float,
        string,
        column=column,
        digits=(16, 1),
        aggregator="avg",
        help=help_text,
    )


def _python(value):
    """A value of a frame as the ORM expects it: None for NaN/NaT, dates for
    timestamps (days), Python numbers."""
    if value is None or pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value.item() if hasattr(value, "item") else value


# Partner filters on the status history: (key, label, new statuses, old
# statuses or None for any, period "week" or "month" of the company's today).
_RECENT_CHANGES = (
    ("at_risk_week", "Became at risk this week", ("at_risk",), None, "week"),
    ("at_risk_month", "Became at risk this month", ("at_risk",), None, "month"),
    ("lost_month", "Lost this month", ("lost",), None, "month"),
    (
        "returned_month",
        "Came back this month",
        (rules.CAME_BACK_TO,),
        rules.FLAGGED,
        "month",
    ),
)
RECENT_CHANGES = [(key, label) for key, label, *_rest in _RECENT_CHANGES]


class _JoinedCondition(SQL):
    """A condition on a retention value, carried in a domain as ``('id',
    'in', <this>)``: the partner's _condition_to_sql applies it to the row
    of retention.partner.state joined by the query. As SQL it is a subquery
    with the same meaning, for anything that reads it without that."""

    def __init__(self, subquery, column, operator, value):
        super().__init__(subquery)
        self.column, self.operator, self.value = column, operator, value


class ResPartner(models.Model):
    _inherit = "res.partner"

    retention_first_order_date = _retention_field(
        fields.Date,
        "First Order",
        column="first_order_date",
        help="Day of the customer's first order in this company.",
    )
    retention_last_order_date = _retention_field(
        fields.Date,
        "Last Order",
        column="last_order_date",
        help="Day of the customer's latest order in this company.",
    )
    retention_visit_count = _retention_field(
        fields.Integer,
        "Visits",
        column="visit_count",
        help="Days with at least one order inside the look-back window "
        "(two orders on the same day are one visit).",
    )
    retention_revenue = _retention_field(
        fields.Float,
        "Retention Revenue",
        column="revenue",
        digits="Product Price",
        help="Untaxed sales in the company currency inside the look-back window, net "
        "of credit notes.",
    )
    retention_avg_ticket = _retention_field(
        fields.Float,
        "Average Ticket",
        column="avg_ticket",
        digits="Product Price",
        aggregator="avg",
        help="Revenue per visit inside the look-back window.",
    )
    retention_cadence_days = _retention_figure(
        "Usual Interval (days)",
        "cadence_days",
        "Median number of days between two consecutive visits: the customer's own "
        "rhythm.",
    )
    retention_days_since_last = _retention_field(
        fields.Integer,
        "Days Since Last Order",
        column="days_since_last",
        aggregator="avg",
        help="Days since the last visit, as of today.",
    )
    retention_next_order_date = _retention_field(
        fields.Date,
        "Next Expected Order",
        column="next_order_date",
        help="Last visit plus the usual interval.",
    )
    retention_status = _retention_field(
        fields.Selection,
        "Retention Status",
        column="status",
        selection=list(STATUSES),
        # Kanban columns New, Active, At risk, Lost even when one is empty.
        group_expand=True,
        help="New: first order recently. Active: buys at their usual rhythm. "
        "At risk: overdue against their usual rhythm. Lost: no order for a long time.",
    )
    retention_overdue = _retention_field(
        fields.Boolean,
        "Overdue",
        column="overdue",
        help="The next expected order is past and the customer is not lost yet.",
    )
    retention_trend_pct = _retention_figure(
        "Sales Trend (%)",
        "trend_pct",
        "Change of sales in the last period against the period before (see Settings).",
    )
    retention_group_top_pct = _retention_figure(
        "Rank in Group (top %)",
        "group_top_pct",
        "8 means the customer is in the top 8% of their peer group by revenue "
        "(whole percents, rounded up).",
    )
    retention_group_tier = _retention_field(
        fields.Selection,
        "Group Tier",
        column="group_tier",
        selection=list(TIERS),
        group_expand=True,
    )
    retention_profile = _retention_field(
        fields.Selection,
        "Behaviour Profile",
        column="profile",
        selection=list(PROFILES),
    )
    retention_alert = _retention_field(
        fields.Selection, "Retention Alert", column="alert", selection=list(ALERTS)
    )
    retention_action = _retention_field(
        fields.Selection, "Suggested Action", column="action", selection=list(ACTIONS)
    )
    retention_reason = _retention_field(
        fields.Char,
        "Retention Reason",
        help="Why the customer has this status, as of today.",
    )
    retention_computed_at = _retention_field(
        fields.Datetime,
        "Retention Computed On",
        help="When the customer's values were last brought up to date.",
    )
    # The outlook (engine/predict.py)
    retention_return_probability = _retention_field(
        fields.Float,
        "Chance of Return (%)",
        column="return_probability",
        digits=(16, 0),
        aggregator="avg",
        help="Chance of at least one visit in the next days of the horizon set in "
        "Settings (90 by default), from the company's model. Empty when the "
        "customer's history or the company's customers are too few to tell.",
    )
    retention_expected_visits = _retention_figure(
        "Expected Visits (12 months)",
        "expected_visits",
        "Visits expected of the customer in the next 365 days.",
    )
    retention_predicted_revenue = _retention_field(
        fields.Float,
        "Predicted Revenue (12 months)",
        column="predicted_revenue",
        digits="Product Price",
        help="Revenue expected of the customer in the next 12 months: expected visits "
        "times the expected ticket.",
    )
    retention_revenue_at_risk = _retention_field(
        fields.Float,
        "Revenue at Risk",
        column="revenue_at_risk",
        digits="Product Price",
        help="What the business stands to lose if the customer does not come back: "
        "the revenue of the next 12 months expected of them as a customer, times "
        "the chance of no visit within the horizon.",
    )
    retention_prediction_model = _retention_field(
        fields.Selection,
        "Prediction Model",
        column="prediction_model",
        selection=list(MODELS),
    )
    retention_no_prediction = _retention_field(
        fields.Selection,
        "Why No Chance of Return",
        column="no_prediction",
        selection=list(NO_PREDICTION),
    )

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

    # Retention over time
    retention_change_ids = fields.One2many(
        "retention.status.change",
        "partner_id",
        string="Status Changes",
        readonly=True,
        groups=SALES_USERS,
    )
    retention_report_ids = fields.One2many(
        "retention.report",
        "partner_id",
        string="Retention by Period",
        readonly=True,
        groups=SALES_USERS,
    )
    retention_timeline_ids = fields.Many2many(
        "retention.status.change",
        string="Status Timeline",
        compute="_compute_retention_timeline",
        groups=SALES_USERS,
        help="The customer's status changes in the current company, newest first.",
    )
    retention_recent_change = fields.Selection(
        RECENT_CHANGES,
        string="Recent Status Change",
        compute="_compute_retention_recent_change",
        search="_search_retention_recent_change",
        groups=SALES_USERS,
    )

    # Win-back calls (retention_call.py)
    retention_contact_block = fields.Selection(
        CONTACT_BLOCKS,
        string="Contact Mark",
        copy=False,
        tracking=True,
        groups=SALES_USERS,
        help="Moved away or do not contact: left out of win-back calls and SMS in "
        "every company until someone clears the mark.",
    )
    retention_call_ids = fields.Many2many(
        "retention.call",
        string="Win-back Calls",
        compute="_compute_retention_calls",
        groups=SALES_USERS,
        help="The customer's win-back calls in the current company, newest first.",
    )
    retention_open_call_id = fields.Many2one(
        "retention.call",
        string="Open Win-back Call",
        compute="_compute_retention_calls",
        groups=SALES_USERS,
    )

    # ------------------------------------------------------------
    # Values: one row of retention.partner.state per company
    # ------------------------------------------------------------

    @api.depends_context("company", "lang")
    def _compute_retention_values(self):
        company = self.env.company
        rows = self._retention_rows(company)
        if not rows.empty:
            rows = daily_figures(rows, company._retention_today())
            # Which evidence decided the status (calibrated mode's chance).
            rows = verdict_columns(rows, company._retention_judged_by_chance())
            # Shown as the verdict reads it: whole percent, rounded down.
            rows["return_probability"] = shown_chance(rows["return_probability"])
            # In the reader's language, with the company's current settings.
            rows["reason"] = render_reasons(
                rows,
                company._retention_settings(),
                gettext=lambda template: engine_text(self.env, template),
                horizon_days=company._retention_prediction_horizon(),
            )
        by_partner = rows.set_index("partner_id").to_dict("index")
        # sudo: the run's own stamp
        last_run = company.sudo().retention_run_id.last_run
        for partner in self:
            row = by_partner.get(partner._origin.id, {})
            row["ticket_band"] = ticket_band(_python(row.get("avg_ticket")), company)
            row["last_order_side"] = last_order_side(
                _python(row.get("last_order_date")), company
            )
            for fname, column in RETENTION_COLUMNS.items():
                partner[fname] = _python(row.get(column))
            partner.retention_reason = _python(row.get("reason")) or False
            changed = row.get("changed_at")
            if changed is None or pd.isna(changed):
                partner.retention_computed_at = False
            else:  # the row's last change, or the last run that confirmed it
                changed = changed.to_pydatetime()
                partner.retention_computed_at = max(changed, last_run or changed)

    @api.depends_context("company")
    def _compute_retention_timeline(self):
        changes = self.env["retention.status.change"].search(
            [
                ("partner_id", "in", self.commercial_partner_id.ids),
                ("company_id", "=", self.env.company.id),
            ]
        )
        for partner in self:
            partner.retention_timeline_ids = changes.filtered(
                lambda change, partner=partner: change.partner_id
                == partner.commercial_partner_id
            )

    @api.depends_context("company")
    def _compute_retention_calls(self):
        calls = self.env["retention.call"].search(
            [
                ("partner_id", "in", self.commercial_partner_id.ids),
                ("company_id", "=", self.env.company.id),
            ]
        )
        for partner in self:
            own = calls.filtered(
                lambda call, partner=partner: call.partner_id
                == partner.commercial_partner_id
            )
            partner.retention_call_ids = own
            partner.retention_open_call_id = own.filtered(
                lambda call: call.state == "planned"
            )[:1]

    def _compute_retention_recent_change(self):
        # Only a filter: what the customer's latest change was is the timeline.
        self.retention_recent_change = False

    def _search_retention_recent_change(self, operator, value):
        """The customers whose status changed as ``value`` says since the
        start of this week (Monday) or month, on the current company's
        clock and in its history."""
        keys, negate = retention_domain.matching(
            self.env,
            self._fields["retention_recent_change"],
            operator,
            value,
            [key for key, *_rest in _RECENT_CHANGES],
        )
        today = self.env.company._retention_today()
        starts = {
            "week": today - timedelta(days=today.weekday()),
            "month": today.replace(day=1),
        }
        domains = []
        for key, _label, new, old, period in _RECENT_CHANGES:
            if key not in keys:
                continue
            change = [
                ("company_id", "=", self.env.company.id),
                ("date", ">=", starts[period]),
                ("new_status", "in", new),
            ]
            if old:
                change.append(("old_status", "in", old))
            domains.append([("retention_change_ids", "any", change)])
        domain = expression.OR(domains) if domains else expression.FALSE_DOMAIN
        return ["!", *expression.normalize_domain(domain)] if negate else domain

    def _retention_rows(self, company):
        """The company's rows of these partners as a frame of the engine's
        metric columns."""
        ids = [pid for pid in self._origin.ids if pid]
        columns = [column for column, _t in retention_store.STATE_COLUMNS]
        columns += [*_STAMP_COLUMNS, *SUMMARY_STATE_COLUMNS, *PREDICTION_STATE_COLUMNS]
        if not ids:
            return pd.DataFrame(columns=["company_id", "partner_id", *columns])
        self.env.cr.execute(
            SQL(
                "SELECT company_id, partner_id, %s FROM retention_partner_state"
                " WHERE company_id = %s AND partner_id = ANY(%s)",
                SQL(", ").join(SQL.identifier(column) for column in columns),
                company.id,
                ids,
            )
        )
        frame = pd.DataFrame(
            self.env.cr.fetchall(), columns=["company_id", "partner_id", *columns]
        )
        for column in _DATE_COLUMNS + ("changed_at",):
            frame[column] = pd.to_datetime(frame[column])
        for column, sql_type in retention_store.STATE_COLUMNS:
            if sql_type == "float8":
                frame[column] = frame[column].astype("float64")
        for column in SUMMARY_ID_COLUMNS:
            frame[column] = frame[column].astype("Int64")
        frame["total_spent"] = frame["total_spent"].astype("float64")
        for column, sql_type in retention_store.PREDICTION_STATE_COLUMNS:
            if sql_type == "float8":
                frame[column] = frame[column].astype("float64")
        return frame

    def _retention_join(self, alias, query):
        """LEFT JOIN the current company's retention row of each partner
        (at most one: unique per company and partner) and return its alias."""
        state_alias = query.make_alias(alias, "retention_state")
        query.add_join(
            "LEFT JOIN",
            state_alias,
            "retention_partner_state",
            SQL(
                "%s = %s AND %s = %s",
                SQL.identifier(state_alias, "partner_id"),
                SQL.identifier(alias, "id"),
                SQL.identifier(state_alias, "company_id"),
                self.env.company.id,
            ),
        )
        return state_alias

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        # Retention values filter, sort, group and aggregate as the columns
        # of the joined row (a customer without one: NULL, like an unset
        # stored field). The current company's row is the only one joined.
        column = RETENTION_COLUMNS.get(fname)
        if column is None:
            return super()._field_to_sql(alias, fname, query, flush)
        if query is None:
            raise ValueError(f"{fname} needs a query to join its company's row")
        self.check_field_access_rights("read", [fname])
        state_alias = self._retention_join(alias, query)
        return self.env["retention.partner.state"]._field_to_sql(
            state_alias, column, query, flush=False
        )

    def _search_retention(self, fname, operator, value):
        """Domain of the partners whose current company's row satisfies
        ``(column operator value)`` with the ORM's own semantics; partners
        without a row count as unset values (``('retention_status', '=',
        False)`` finds them, ``('retention_status', '!=', 'lost')`` too).

        The condition is placed on the row joined by the query itself (see
        ``_condition_to_sql``), where the sort of the list is read too: a
        filtered, sorted first page then comes from one index and stops after
        the page, instead of sorting every match of a million customers."""
        self.check_field_access_rights("read", [fname])
        column = RETENTION_COLUMNS[fname]
        field = self._fields[fname]
        if field.type == "many2one":
            # By name or on the comodel's tree: a domain Odoo resolves itself.
            domain = retention_domain.many2one_domain(
                self.env, fname, field, operator, value
            )
            if domain is not None:
                return domain
        operator, value = retention_domain.checked(self.env, field, operator, value)
        # The same condition as a plain subquery: only for a caller that
        # reads the domain's SQL without going through _condition_to_sql.
        query = self._as_query(ordered=False)
        state_alias = self._retention_join(self._table, query)
        query.add_where(
            retention_domain.condition_sql(
                self.env["retention.partner.state"],
                state_alias,
                column,
                operator,
                value,
                query,
            )
        )
        return [
            ("id", "in", _JoinedCondition(query.subselect(), column, operator, value))
        ]

    def _condition_to_sql(self, alias, fname, operator, value, query):
        if fname == "id" and isinstance(value, _JoinedCondition):
            return retention_domain.condition_sql(
                self.env["retention.partner.state"],
                self._retention_join(alias, query),
                value.column,
                value.operator,
                value.value,
                query,
            )
        return super()._condition_to_sql(alias, fname, operator, value, query)

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
        if field_name == "retention_days_since_last":
            # Most days since the last order = oldest last order: sorted on the
            # stored date, which the status index holds in that order.
            self.check_field_access_rights("read", [field_name])
            last = self.env["retention.partner.state"]._field_to_sql(
                self._retention_join(alias, query), "last_order_date", query
            )
            descending = direction.code == "DESC"
            nulls_first = (nulls.code or ("NULLS FIRST" if descending else "")) == (
                "NULLS FIRST"
            )
            return retention_rules.days_since_order(last, descending, nulls_first)
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

    @api.model
    def _retention_customers_action(self, name, domain):
        """A list of customers in the retention views, to text, tag or call
        them: the partners of ``domain`` (a domain, not ids: a report cell
        may hold a hundred thousand customers)."""
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": "res.partner",
            "view_mode": "list,form",
            "views": [
                (
                    self.env.ref(
                        "customer_retention.res_partner_view_list_retention"
                    ).id,
                    "list",
                ),
                (False, "form"),
            ],
            "search_view_id": self.env.ref(
                "customer_retention.res_partner_view_search_retention"
            ).id,
            "domain": domain,
            "context": {"create": False},
        }

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
        if not {"parent_id", "is_company"} & set(vals):
            return super().write(vals)
        # A contact moved to another firm takes its documents along without
        # writing them: both firms' retention changes, in every company.
        with self.env["retention.moved.customer"]._watch(
            self, lambda partner: partner.commercial_partner_id
        ):
            return super().write(vals)

    def unlink(self):
        # sudo: the report's rows are the run's, not the deleting user's
        self.env["retention.report"].sudo()._forget("partner_id", self.ids)
        return super().unlink()

    def _check_retention_values_untouched(self, vals):
        # Read-only in the views protects nothing over RPC: a user who may
        # edit contacts could otherwise set a status and steer which SMS
        # template the wizard picks. Server code (superuser) is trusted.
        touched = sorted(set(vals) & set(RETENTION_FIELDS))
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

    @api.model
    def get_empty_list_help(self, help_message):
        """The Customer Retention list before the company's first run has
        ended: say that the first computation is on its way, or how far it
        has got, instead of the help for a database without orders."""
        if not self.env.context.get("retention_list"):
            return super().get_empty_list_help(help_message)
        text = self.retention_first_run_notice()
        if not text:
            return super().get_empty_list_help(help_message)
        return Markup('<p class="o_view_nocontent_smiling_face">%s</p>') % text

    @api.model
    def retention_first_run_notice(self):
        """What the Customer Retention list says above its rows (and instead
        of them while empty) until the current company's first run has
        ended: that the first computation is on its way, or how many
        customers it has done of about how many. False after it, and for
        users who do not see retention values (the counts are the
        company's)."""
        if not self.env.user.has_group("sales_team.group_sale_salesman"):
            return False
        progress = self._retention_first_run_progress()
        if progress is None:
            return False
        done, total = progress
        if done:
            return self.env._(
                "The first computation of %(company)s is in progress: %(done)s of "
                "about %(total)s customers done. Their values appear as it goes.",
                company=self.env.company.name,
                done=format(done, ","),
                total=format(max(total, done), ","),
            )
        return self.env._(
            "The first computation of %(company)s starts within minutes, in the "
            "background (Customer Retention: daily recompute); about %(total)s "
            "customers to compute.",
            company=self.env.company.name,
            total=format(total, ","),
        )

    @api.model
    def _retention_first_run_progress(self):
        """(customers done, customers with orders) while the current
        company's first run has not ended; None once it has."""
        company = self.env.company
        # sudo: the run's state and two counts, shown to whoever opens the
        # list (the numbers only)
        run = (
            self.env["retention.run"]
            .sudo()
            .search([("company_id", "=", company.id)], limit=1)
        )
        if run.last_run:
            return None
        cr = self.env.cr
        cr.execute(
            "SELECT count(*) FROM retention_partner_state WHERE company_id = %s",
            [company.id],
        )
        done = cr.fetchone()[0]
        # About: the buyers of confirmed orders (the first run's figure is
        # exact); counted once per request, until the first run ends.
        cr.execute(
            "SELECT count(DISTINCT partner_id) FROM sale_order"
            " WHERE company_id = %s AND state = 'sale'",
            [company.id],
        )
        total = cr.fetchone()[0]
        return (done, total) if done or total else None

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
        if not self.env.su:
            # Bounded request work: a big company is the daily job's.
            self._retention_check_request_size(companies)
        wait = retention_store.UI_LOCK_WAIT
        return sum(
            company._retention_recompute(as_of, lock_wait=wait)["customers"]
            for company in companies
        )

    @api.model
    def _retention_check_request_size(self, companies):
        """Refuse a whole-company recompute inside a request for a company
        too big to recompute within a web worker's limits."""
        bound = retention_store.REQUEST_MAX_DOCUMENTS
        for company in companies:
            if retention_store.documents_exceed(company, bound):
                raise UserError(
                    self.env._(
                        "%(company)s has more than %(bound)s sales documents: too "
                        "many to recompute inside one request. The nightly run "
                        "recomputes it in bounded steps; a Settings administrator "
                        "can start it now with Recompute now in the Customer "
                        "Retention settings.",
                        company=company.name,
                        bound=format(bound, ","),
                    )
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
        if len(customers) > retention_store.REQUEST_MAX_CUSTOMERS:
            raise UserError(
                self.env._(
                    "Recompute brings at most %(maximum)s customers up to date at "
                    "once (%(count)s selected). The nightly run updates every "
                    "customer; a Settings administrator can start it now with "
                    "Recompute now in the Customer Retention settings.",
                    maximum=retention_store.REQUEST_MAX_CUSTOMERS,
                    count=len(customers),
                )
            )
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

    # ------------------------------------------------------------
    # Win-back calls (the logic: retention_call.py)
    # ------------------------------------------------------------

    def action_retention_plan_call(self):
        """Plan a win-back call for these customers (list action and the
        Retention tab)."""
        return self.env["retention.call"]._action_plan(self)

    def action_retention_call_outcome(self):
        """Record the outcome of the customer's open win-back call."""
        retention_args.one(self)
        call = self.commercial_partner_id.retention_open_call_id
        if not call:
            raise UserError(
                self.env._(
                    "%(customer)s has no open win-back call.", customer=self.name
                )
            )
        return call.action_record_outcome()

    def action_retention_mark_moved_away(self):
        self.env["retention.call"]._set_contact_block(self, "moved_away")

    def action_retention_mark_do_not_contact(self):
        self.env["retention.call"]._set_contact_block(self, "do_not_contact")

    def action_retention_clear_contact_block(self):
        self.env["retention.call"]._set_contact_block(self, False)
