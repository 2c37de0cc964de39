# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who came back after each period, by salesperson and by product category.

One row per period (month, quarter, year), customer, salesperson, sales team
and product category served in it, written by the nightly run
(retention_history.refresh_report) for the customers whose orders changed:
opening the report reads a pre-computed table, never the orders.

A customer served by two salespeople, or in two categories, has a row under
each: the measures count *distinct customers* of each cell
(:meth:`_read_group_select`), so the pivot reads "served 31, came back 6,
return rate 19.4 %" per salesperson or category directly.
"""

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..engine.history import OUTCOMES, PERIOD_TYPES

# The columns of retention_report: the table is created from this list and
# an existing table gains from it the columns it lacks (see init). A column
# added later must suit the rows already there: nullable, or with a DEFAULT
# (or GENERATED); a column removed from the list stays in existing tables
# until the version's migration drops it. What follows ``complete`` is
# derived by PostgreSQL, never sent: a third fewer columns to write, and
# settling a row (complete) updates them all.
REPORT_COLUMNS = (
    ("id", "serial PRIMARY KEY"),
    ("company_id", "int4 NOT NULL"),
    ("period_type", "varchar NOT NULL"),
    ("period_start", "date NOT NULL"),
    ("next_period_end", "date"),
    ("partner_id", "int4 NOT NULL"),
    ("user_id", "int4"),
    ("team_id", "int4"),
    ("categ_id", "int4"),
    ("revenue", "float8"),
    ("returned", "bool NOT NULL"),
    ("returned_same_user", "bool NOT NULL"),
    ("complete", "bool NOT NULL"),
    (
        "outcome",
        "varchar GENERATED ALWAYS AS (CASE WHEN returned THEN 'returned'"
        " WHEN complete THEN 'not_returned' ELSE 'pending' END) STORED",
    ),
    ("customer_count", "int4 GENERATED ALWAYS AS (1) STORED"),
    ("returned_count", "int4 GENERATED ALWAYS AS (returned::int) STORED"),
    (
        "lost_count",
        "int4 GENERATED ALWAYS AS ((complete AND NOT returned)::int) STORED",
    ),
    (
        "return_rate",
        "float8 GENERATED ALWAYS AS"
        " (CASE WHEN complete THEN 100.0 * returned::int END) STORED",
    ),
    (
        "return_rate_same_user",
        "float8 GENERATED ALWAYS AS"
        " (CASE WHEN complete THEN 100.0 * returned_same_user::int END) STORED",
    ),
)


class RetentionReport(models.Model):
    _name = "retention.report"
    _description = "Retention by Period"
    # Not by customer name: a join and a sort of every row of a cell; ids
    # follow the order rows are written in (period, salesperson, customer).
    _order = "period_start desc, id"
    _rec_name = "partner_id"
    _log_access = False
    # The table is created by init(), without the foreign keys the ORM
    # would add: their checks made a million rows of a first build three
    # times slower to write. What they would guard against is handled where
    # it happens: partners, salespeople and teams that are deleted take
    # their rows (or their name on the rows) with them (see unlink of
    # res.partner, res.users, crm.team); a product category in use cannot
    # be deleted.
    _auto = False

    period_type = fields.Selection(
        [(name, name.capitalize()) for name, _freq in PERIOD_TYPES],
        required=True,
        readonly=True,
    )
    period_start = fields.Date(string="Period", required=True, readonly=True)
    next_period_end = fields.Date(
        string="Following Period Ends",
        readonly=True,
        help="The day after the following period: whether the customer came back "
        "is known from then on.",
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True
    )
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    categ_id = fields.Many2one(
        "product.category", string="Product Category", readonly=True
    )
    revenue = fields.Float(
        readonly=True, help="Untaxed amount of the period, in the company currency."
    )
    returned = fields.Boolean(
        string="Came Back",
        readonly=True,
        help="The customer has an order in the following period of the same length, "
        "with anyone.",
    )
    returned_same_user = fields.Boolean(
        string="Came Back to the Same Salesperson", readonly=True
    )
    complete = fields.Boolean(
        readonly=True,
        help="The following period has ended: whether the customer came back is "
        "known. The periods in progress are not counted as churn.",
    )
    outcome = fields.Selection(list(OUTCOMES), readonly=True)
    # Measures: each row holds its own 0/1 or 100/0, the cells count
    # distinct customers (see _read_group_select).
    customer_count = fields.Integer(
        string="Customers Served", readonly=True, aggregator="sum"
    )
    returned_count = fields.Integer(
        string="Customers Back", readonly=True, aggregator="sum"
    )
    lost_count = fields.Integer(
        string="Customers Not Back", readonly=True, aggregator="sum"
    )
    return_rate = fields.Float(
        string="Return Rate (%)",
        readonly=True,
        aggregator="avg",
        help="Customers who came back in the following period, out of the customers "
        "served, over the periods whose following period has ended.",
    )
    return_rate_same_user = fields.Float(
        string="Return Rate to Same Salesperson (%)",
        readonly=True,
        aggregator="avg",
    )

    def init(self):
        cr = self.env.cr
        columns = {
            name: SQL("%s %s", SQL.identifier(name), SQL(definition))
            for name, definition in REPORT_COLUMNS
        }
        cr.execute(
            SQL(
                "CREATE TABLE IF NOT EXISTS retention_report (%s)",
                SQL(", ").join(columns.values()),
            )
        )
        # Odoo adds no column to a table it does not create (_auto = False):
        # a table made by an earlier version gains here the columns declared
        # since (-u runs init()), from the same list.
        cr.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'retention_report'"
        )
        missing = set(columns) - {name for (name,) in cr.fetchall()}
        if missing:
            cr.execute(
                SQL(
                    "ALTER TABLE retention_report %s",
                    SQL(", ").join(
                        SQL("ADD COLUMN %s", column)
                        for name, column in columns.items()
                        if name in missing
                    ),
                )
            )
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_report_period_idx
                ON retention_report
                   (period_type, period_start, company_id, user_id, partner_id)
            """
        )
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_report_company_partner_idx
                ON retention_report (company_id, partner_id)
            """
        )
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS retention_report_pending_idx
                ON retention_report (company_id, next_period_end)
             WHERE NOT complete
            """
        )

    def _read_group_select(self, aggregate_spec, query):
        field = lambda name: self._field_to_sql(self._table, name, query)  # noqa: E731
        partner = field("partner_id")
        complete = field("complete")
        if aggregate_spec == "customer_count:sum":
            return SQL("COUNT(DISTINCT %s)", partner)
        if aggregate_spec == "returned_count:sum":
            return SQL(
                "COUNT(DISTINCT %s) FILTER (WHERE %s)", partner, field("returned")
            )
        if aggregate_spec == "lost_count:sum":
            return SQL(
                "COUNT(DISTINCT %s) FILTER (WHERE %s = 'not_returned')",
                partner,
                field("outcome"),
            )
        rates = {
            "return_rate:avg": "returned",
            "return_rate_same_user:avg": "returned_same_user",
        }
        if aggregate_spec in rates:
            return SQL(
                "ROUND(100.0 * COUNT(DISTINCT %(partner)s) FILTER (WHERE %(complete)s"
                " AND %(flag)s) / NULLIF(COUNT(DISTINCT %(partner)s) FILTER"
                " (WHERE %(complete)s), 0), 1)",
                partner=partner,
                complete=complete,
                flag=field(rates[aggregate_spec]),
            )
        return super()._read_group_select(aggregate_spec, query)

    def action_open_customers(self):
        """The customers of the selected rows, or of every row of the list
        (a pivot cell opened, "Did not come back" filtered), as a partner
        list from which the win-back SMS, a tag or a call activity go to
        them: DIKIDI's list of the clients who did not come back. A domain,
        not a list of ids: a cell may hold a hundred thousand customers."""
        if self:
            domain = [("id", "in", self.partner_id.ids)]
        else:
            rows = self._checked_domain(self.env.context.get("active_domain") or [])
            domain = [("retention_report_ids", "any", rows)]
        return self.env["res.partner"]._retention_customers_action(
            self.env._("Customers"), domain
        )

    @api.model
    def _checked_domain(self, domain):
        """``domain`` (the list's filter, from the client) when it is a
        domain of these rows: tried once here, where a UserError can say so,
        rather than in the customer list it opens."""
        try:
            if not isinstance(domain, list | tuple):
                raise TypeError(domain)
            with self.env.cr.savepoint():
                self.search(list(domain), limit=1)
        except (
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AssertionError,
            psycopg2.DataError,
            psycopg2.ProgrammingError,
        ):
            raise UserError(
                self.env._(
                    "The rows to open are not given by a valid filter: %(domain)s",
                    domain=repr(domain)[:200],
                )
            ) from None
        return list(domain)

    @api.model
    def _forget(self, field_name, ids):
        """Deleted partners take their rows with them; deleted salespeople
        and teams leave their rows without a name."""
        if not ids:
            return
        self.env.flush_all()
        if field_name == "partner_id":
            query = SQL(
                "DELETE FROM retention_report WHERE partner_id = ANY(%s)", list(ids)
            )
        else:
            query = SQL(
                "UPDATE retention_report SET %s = NULL WHERE %s = ANY(%s)",
                SQL.identifier(field_name),
                SQL.identifier(field_name),
                list(ids),
            )
        self.env.cr.execute(query)
        self.invalidate_model([field_name])
