# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The customer in one look, and the segments to pick whom to call or text.

The summary of the partner's Retention tab (USO): total spent, open
receivable, loyalty points, preferred salesperson, weekday and time of day,
categories bought and the main ones never bought, the source of the first
order. And the segment attributes of Netix Triceps, each filterable and
groupable in the partner list and pivot, per company: contacted recently,
customers against other partners, last order before or after a cut-off day,
branch, average-ticket band, main category, "bought category X".

The figures written by the nightly run are read through the customer's
retention row (see res_partner.py); the attributes that depend on other
records (messages, users, loyalty cards) are SQL expressions on the
partner, so they filter and group in the database too.
"""

from datetime import timedelta

from lxml import etree

from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL
from odoo.tools.query import Query

from ..engine import CONTACTED
from ..engine.history import WEEKDAYS
from ..engine.summary import DAYPARTS
from . import retention_domain
from .res_partner import SALES_USERS, _retention_field
from .retention_partner_state import LAST_ORDER_SIDES

# Contacted recently (Netix's "SMS and talks"): in the last month, against
# nothing for more than two months.
CONTACT_RECENT_DAYS = 30
CONTACT_QUIET_DAYS = 60
CONTACT_RECENCY = [
    ("recent", "Contacted in the last 30 days"),
    ("between", "Last contacted 30 to 60 days ago"),
    ("quiet", "Not contacted for 60 days"),
]
# Messages that are a contact with the customer: a message or a note
# written by someone (a logged call is a note or a done Call activity), an
# SMS, a sent e-mail; not the notifications Odoo writes by itself.
CONTACT_MESSAGE_TYPES = ("comment", "sms", "email_outgoing")
PARTNER_KINDS = [
    ("customer", "Customer"),
    ("supplier", "Supplier"),
    ("employee", "Employee"),
    ("other", "Other"),
]
# Age bands of this many years (Netix), from the birthdate of OCA's
# partner_contact_birthdate when it is installed; gender from OCA's
# partner_contact_gender. The addon adds neither field of its own.
AGE_BAND_YEARS = 5
BIRTHDATE_FIELD = "birthdate_date"
GENDER_FIELD = "gender"
# Partner fields that are SQL expressions of this file (see _field_to_sql).
_SQL_FIELDS = ("retention_contact", "retention_partner_kind", "retention_age_band")


# A second class on res.partner: res_partner.py holds the retention values
# and their SQL plumbing, this one the summary and segments built on them;
# one file of both would be a thousand lines.
class ResPartner(models.Model):
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    # The summary, per company (the customer's retention row).
    retention_total_spent = _retention_field(
        fields.Float,
        "Total Spent",
        column="total_spent",
        digits="Product Price",
        aggregator="sum",
        help="Untaxed sales of the whole history in the company currency, net of "
        "credit notes.",
    )
    retention_main_categ_id = _retention_field(
        fields.Many2one,
        "Main Category",
        column="main_categ_id",
        comodel_name="product.category",
        help="The product category the customer spent most on.",
    )
    retention_preferred_user_id = _retention_field(
        fields.Many2one,
        "Preferred Salesperson",
        column="preferred_user_id",
        comodel_name="res.users",
        help="The salesperson of most of the customer's visits.",
    )
    retention_preferred_weekday = _retention_field(
        fields.Selection,
        "Preferred Day",
        column="preferred_weekday",
        selection=list(WEEKDAYS),
        help="The weekday of most of the customer's visits (from two visits on).",
    )
    retention_preferred_daypart = _retention_field(
        fields.Selection,
        "Preferred Time",
        column="preferred_daypart",
        selection=[(key, label) for key, label, _start in DAYPARTS],
        help="The time of day of most of the customer's visits (from two visits on; "
        "invoices have no time of day).",
    )
    retention_last_team_id = _retention_field(
        fields.Many2one,
        "Last Branch (Team)",
        column="last_team_id",
        comodel_name="crm.team",
        help="The sales team of the customer's last visit: the branch they last "
        "came to.",
    )
    retention_last_warehouse_id = _retention_field(
        fields.Integer, "Last Warehouse Id", column="last_warehouse_id"
    )
    retention_first_source_id = _retention_field(
        fields.Many2one,
        "Source of First Order",
        column="first_source_id",
        comodel_name="utm.source",
        help="The UTM source of the customer's first order: where they heard "
        "about you.",
    )
    retention_ticket_band = _retention_field(
        fields.Integer,
        "Average Ticket Band",
        column="ticket_band",
        aggregator=None,
        help="The average ticket rounded down to the band width of Settings (500: "
        "0, 500, 1000...).",
    )
    retention_last_order_side = _retention_field(
        fields.Selection,
        "Last Order vs Cut-off",
        column="last_order_side",
        selection=LAST_ORDER_SIDES,
        help="Whether the last order came before the cut-off date of Settings.",
    )

    retention_last_warehouse = fields.Char(
        "Last Warehouse",
        compute="_compute_retention_summary",
        groups=SALES_USERS,
        help="The warehouse of the customer's last visit (with Inventory).",
    )
    retention_receivable = fields.Monetary(
        "Open Receivable",
        compute="_compute_retention_summary",
        currency_field="retention_currency_id",
        groups=SALES_USERS,
        help="What the customer owes the company: their receivable balance.",
    )
    retention_currency_id = fields.Many2one(
        "res.currency", compute="_compute_retention_summary", groups=SALES_USERS
    )
    retention_loyalty_enabled = fields.Boolean(
        compute="_compute_retention_summary", groups=SALES_USERS
    )
    retention_loyalty_points = fields.Float(
        "Loyalty Points",
        compute="_compute_retention_summary",
        groups=SALES_USERS,
        help="Points left on the customer's loyalty cards of the company (with the "
        "Loyalty app).",
    )
    retention_category_ids = fields.Many2many(
        "retention.partner.category",
        string="Categories Bought",
        compute="_compute_retention_categories",
        groups=SALES_USERS,
    )
    retention_categ_ids = fields.Many2many(
        "product.category",
        string="Bought Category",
        compute="_compute_retention_categories",
        search="_search_retention_categ_ids",
        groups=SALES_USERS,
        help="The product categories the customer has bought in the company.",
    )
    retention_missing_categ_ids = fields.Many2many(
        "product.category",
        string="Never Bought",
        compute="_compute_retention_categories",
        groups=SALES_USERS,
        help="The company's main categories (bought by at least 5% of its active "
        "customers) that the customer has never bought: what to offer next.",
    )
    retention_last_contact = fields.Datetime(
        "Last Contacted",
        compute="_compute_retention_contact",
        groups=SALES_USERS,
        help="The last message, note, logged call, e-mail or SMS to the customer, "
        "win-back SMS included.",
    )
    retention_contact = fields.Selection(
        CONTACT_RECENCY,
        string="Contacted Recently",
        compute="_compute_retention_contact",
        search="_search_retention_contact",
        groups=SALES_USERS,
    )
    retention_partner_kind = fields.Selection(
        PARTNER_KINDS,
        string="Partner Kind",
        compute="_compute_retention_partner_kind",
        search="_search_retention_partner_kind",
        groups=SALES_USERS,
        help="Customer: bought in this company, or marked as a customer. Otherwise "
        "supplier, employee (a user of the database) or other.",
    )

    retention_age_band = fields.Integer(
        "Age Band",
        compute="_compute_retention_age_band",
        search="_search_retention_age_band",
        aggregator=None,
        groups=SALES_USERS,
        help="The age rounded down to 5 years (20, 25, 30...), from the birthdate "
        "of the contact (with OCA's partner_contact_birthdate).",
    )

    # ------------------------------------------------------------
    # Summary
    # ------------------------------------------------------------

    @api.depends_context("company")
    def _compute_retention_summary(self):
        company = self.env.company
        loyalty = "loyalty.card" in self.env
        points = self._retention_loyalty_points(company) if loyalty else {}
        warehouses = {}
        if "stock.warehouse" in self.env:
            ids = {pid for pid in self.mapped("retention_last_warehouse_id") if pid}
            # sudo: the name of the branch, for users without Inventory rights
            found = self.env["stock.warehouse"].sudo().browse(ids).exists()
            warehouses = {warehouse.id: warehouse.name for warehouse in found}
        receivables = self._retention_receivables(company)
        for partner in self:
            commercial = partner.commercial_partner_id
            partner.retention_currency_id = company.currency_id
            partner.retention_receivable = receivables.get(commercial.id, 0.0)
            partner.retention_loyalty_enabled = loyalty
            partner.retention_loyalty_points = points.get(commercial.id, 0.0)
            partner.retention_last_warehouse = warehouses.get(
                partner.retention_last_warehouse_id, False
            )

    def _retention_receivables(self, company):
        """Open receivable per commercial partner in ``company`` itself: the
        residual of its posted, unreconciled receivable journal items, in the
        company currency. Odoo's ``credit`` adds up the whole company tree
        (the parent and every branch); a salesperson of one branch sees
        that branch's figure only, never a sister branch's or the parent's."""
        commercial = self.commercial_partner_id
        if not commercial.ids:
            return {}
        # sudo: the receivable is a figure of the customer the salesperson
        # works with (USO shows it before a call); reading it needs
        # accounting rights, which salespeople usually lack. The company is
        # the user's current one (env.company, which Odoo checks).
        groups = (
            self.env["account.move.line"]
            .sudo()
            ._read_group(
                [
                    ("company_id", "=", company.id),
                    ("partner_id", "child_of", commercial.ids),
                    ("account_id.account_type", "=", "asset_receivable"),
                    ("parent_state", "=", "posted"),
                    ("reconciled", "=", False),
                ],
                ["partner_id"],
                ["amount_residual:sum"],
            )
        )
        totals = {}
        for partner, residual in groups:
            key = partner.commercial_partner_id.id
            totals[key] = totals.get(key, 0.0) + residual
        return totals

    def _retention_loyalty_points(self, company):
        """Points left per commercial partner on the loyalty cards of the
        company's loyalty programs (the loyalty app, when installed)."""
        # sudo: cards are read for the points figure only; salespeople may
        # lack the Loyalty app's rights.
        groups = (
            self.env["loyalty.card"]
            .sudo()
            ._read_group(
                [
                    ("partner_id", "child_of", self.commercial_partner_id.ids),
                    ("program_id.program_type", "=", "loyalty"),
                    ("program_id.active", "=", True),
                    ("company_id", "in", [company.id, False]),
                ],
                ["partner_id"],
                ["points:sum"],
            )
        )
        points = {}
        for partner, total in groups:
            commercial = partner.commercial_partner_id.id
            points[commercial] = points.get(commercial, 0.0) + total
        return points

    @api.depends_context("company")
    def _compute_retention_categories(self):
        company = self.env.company
        commercial = self.commercial_partner_id
        rows = self.env["retention.partner.category"].search(
            [("company_id", "=", company.id), ("partner_id", "in", commercial.ids)]
        )
        main = (
            self.env["retention.category.gap"]
            .search([("company_id", "=", company.id), ("is_main", "=", True)])
            .categ_id
        )
        for partner in self:
            own = rows.filtered(
                lambda row, partner=partner: row.partner_id
                == partner.commercial_partner_id
            )
            partner.retention_category_ids = own
            partner.retention_categ_ids = own.categ_id
            partner.retention_missing_categ_ids = (
                (main - own.categ_id) if own else self.env["product.category"]
            )

    def _search_retention_categ_ids(self, operator, value):
        """Partners (and their contacts) who bought the given categories in
        the current company, as Odoo reads a many2many condition: ids or
        names (``in``, ``=``, ``ilike``...), categories with their children
        (``child_of``) or parents, categories of a subquery (``any``, which
        Odoo hands over as ``in``); ``False`` for any category at all. A
        negative operator: the partners who bought none of them."""
        field = self._fields["retention_categ_ids"]
        env = self.env
        if operator == "=?":
            if value is None or value is False:
                return expression.TRUE_DOMAIN
            operator = "="
        if operator in retention_domain.SUBDOMAIN:
            raise retention_domain.refuse_operator(env, field, operator)
        if isinstance(value, dict):
            raise retention_domain.refuse_value(env, field, value)
        negative = operator in retention_domain.NEGATIONS
        operator = retention_domain.NEGATIONS.get(operator, operator)
        Category = env["product.category"]
        if operator in retention_domain.HIERARCHY:
            ids, names = retention_domain.record_refs(env, field, value)
            # Odoo reads ids or names, not both in one list.
            domain = expression.OR(
                [("id", operator, refs)] for refs in (ids, names) if refs
            )
            categories = (
                SQL("c.categ_id IN %s", Category._search(domain).subselect())
                if ids or names
                else SQL("FALSE")
            )
        elif isinstance(value, Query | SQL):
            categories = SQL(
                "c.categ_id IN %s",
                value.subselect() if isinstance(value, Query) else value,
            )
        elif value is False or value is None:
            # Odoo's (field, '=', False): no category at all.
            categories, negative = SQL("TRUE"), not negative
        elif isinstance(value, str) or (
            isinstance(value, list | tuple)
            and value
            and all(isinstance(item, str) for item in value)
        ):
            # Odoo's reading: a name with in, names with =.
            if isinstance(value, str) and operator == "in":
                operator = "="
            elif not isinstance(value, str) and operator == "=":
                operator = "in"
            names = Category._search([("display_name", operator, value)])
            categories = SQL("c.categ_id IN %s", names.subselect())
        elif operator in ("=", "in"):
            ids = [
                retention_domain.scalar(env, field, item)
                for item in (value if isinstance(value, list | tuple) else [value])
            ]
            categories = SQL("c.categ_id = ANY(%s)", [pid for pid in ids if pid])
        elif operator in retention_domain.LIKE:
            text = retention_domain.like_text(env, field, value)
            names = Category._search([("display_name", operator, text)])
            categories = SQL("c.categ_id IN %s", names.subselect())
        else:
            raise retention_domain.refuse_operator(env, field, operator)
        # In parentheses: the ORM writes "id IN <subquery>".
        buyers = SQL(
            """(
            SELECT p.id FROM res_partner p
              JOIN retention_partner_category c
                ON c.partner_id = p.commercial_partner_id
             WHERE c.company_id = %s AND %s
            )""",
            self.env.company.id,
            categories,
        )
        return [("id", "not in" if negative else "in", buyers)]

    # ------------------------------------------------------------
    # Segments computed in SQL: contact recency, partner kind
    # ------------------------------------------------------------

    def _retention_sql(self, alias, fname):
        """The SQL of a segment of this file for the partner row ``alias``."""
        commercial = SQL.identifier(alias, "commercial_partner_id")
        company_id = self.env.company.id
        if fname == "retention_last_contact":
            return SQL(
                """GREATEST(
                    (SELECT max(m.date) FROM mail_message m
                       JOIN res_partner c ON c.id = m.res_id
                      WHERE m.model = 'res.partner' AND c.commercial_partner_id = %s
                        AND (m.message_type IN %s
                             OR m.mail_activity_type_id IS NOT NULL)),
                    (SELECT max(l.date) FROM retention_sms_campaign_line l
                      WHERE l.company_id = %s AND l.commercial_partner_id = %s
                        AND l.kind = %s))""",
                commercial,
                CONTACT_MESSAGE_TYPES,
                company_id,
                commercial,
                CONTACTED,
            )
        if fname == "retention_contact":
            now = fields.Datetime.now()
            last = self._retention_sql(alias, "retention_last_contact")
            return SQL(
                """(CASE WHEN %(last)s >= %(recent)s THEN 'recent'
                         WHEN %(last)s >= %(quiet)s THEN 'between'
                         ELSE 'quiet' END)""",
                last=last,
                recent=now - timedelta(days=CONTACT_RECENT_DAYS),
                quiet=now - timedelta(days=CONTACT_QUIET_DAYS),
            )
        if fname == "retention_age_band":
            if BIRTHDATE_FIELD not in self._fields:
                return SQL("NULL::int4")
            return SQL(
                "(floor(date_part('year', age(%s::date, %s)) / %s) * %s)::int4",
                self.env.company._retention_today(),
                SQL.identifier(alias, BIRTHDATE_FIELD),
                AGE_BAND_YEARS,
                AGE_BAND_YEARS,
            )
        # retention_partner_kind
        return SQL(
            """(CASE WHEN %(customer_rank)s > 0 OR EXISTS (
                        SELECT 1 FROM retention_partner_state s
                         WHERE s.company_id = %(company_id)s
                           AND s.partner_id = %(commercial)s) THEN 'customer'
                     WHEN %(supplier_rank)s > 0 THEN 'supplier'
                     WHEN EXISTS (
                        SELECT 1 FROM res_users u
                         WHERE u.partner_id = %(partner)s AND NOT u.share)
                     THEN 'employee'
                     ELSE 'other' END)""",
            customer_rank=SQL.identifier(alias, "customer_rank"),
            supplier_rank=SQL.identifier(alias, "supplier_rank"),
            partner=SQL.identifier(alias, "id"),
            commercial=commercial,
            company_id=company_id,
        )

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        if fname in _SQL_FIELDS:
            self.check_field_access_rights("read", [fname])
            if flush:
                self.env.flush_all()
            return self._retention_sql(alias, fname)
        return super()._field_to_sql(alias, fname, query, flush)

    def _search_retention_contact(self, operator, value):
        return self._retention_search("retention_contact", operator, value)

    def _search_retention_age_band(self, operator, value):
        return self._retention_search("retention_age_band", operator, value)

    @api.depends_context("company")
    def _compute_retention_age_band(self):
        self._retention_fetch_sql(("retention_age_band",))

    @api.model
    def _get_view(self, view_id=None, view_type="form", **options):
        arch, view = super()._get_view(view_id, view_type, **options)
        if view_type == "search":
            self._retention_add_person_groupbys(arch)
        return arch, view

    def _retention_add_person_groupbys(self, arch):
        """Group by gender and age band in the partner search views that
        carry the retention group-bys, when OCA's fields exist."""
        tags = arch.find(".//filter[@name='group_retention_tags']")
        if tags is None:
            return
        parent = tags.getparent()
        index = list(parent).index(tags) + 1
        extra = []
        if GENDER_FIELD in self._fields:
            extra.append(("group_retention_gender", self.env._("Gender"), GENDER_FIELD))
        if BIRTHDATE_FIELD in self._fields:
            extra.append(
                (
                    "group_retention_age_band",
                    self.env._("Age Band"),
                    "retention_age_band",
                )
            )
        for offset, (name, string, fname) in enumerate(extra):
            node = etree.Element(
                "filter",
                name=name,
                string=string,
                context=repr({"group_by": fname}),
                groups=SALES_USERS,
            )
            parent.insert(index + offset, node)

    def _search_retention_partner_kind(self, operator, value):
        return self._retention_search("retention_partner_kind", operator, value)

    def _retention_search(self, fname, operator, value):
        """The partners whose segment ``fname`` (SQL of this file) satisfies
        ``(fname operator value)``, in one query, with every operator Odoo
        accepts on a field of its type."""
        field = self._fields[fname]
        env = self.env
        # Read in SQL from messages, users and SMS lines: pending writes first.
        env.flush_all()
        if field.type == "selection":
            # Never empty: one of its keys, those that match found in Python.
            keys, negate = retention_domain.matching(
                env, field, operator, value, [key for key, _label in field.selection]
            )
            condition = (
                SQL("%s IN %s", self._retention_sql("p", fname), tuple(keys))
                if keys
                else SQL("FALSE")
            )
            if negate:
                condition = SQL("NOT %s", condition)
        else:
            operator, value = retention_domain.checked(env, field, operator, value)
            condition = retention_domain.condition_sql(
                self, "p", fname, operator, value, Query(env, "p", SQL("res_partner"))
            )
        return [
            ("id", "in", SQL("(SELECT p.id FROM res_partner p WHERE %s)", condition))
        ]

    @api.depends_context("company")
    def _compute_retention_contact(self):
        self._retention_fetch_sql(("retention_last_contact", "retention_contact"))

    @api.depends_context("company")
    def _compute_retention_partner_kind(self):
        self._retention_fetch_sql(("retention_partner_kind",))

    def _retention_fetch_sql(self, fnames):
        """Read these segments of the records in one query."""
        ids = [pid for pid in self._origin.ids if pid]
        values = {}
        if ids:
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    "SELECT p.id, %s FROM res_partner p WHERE p.id = ANY(%s)",
                    SQL(", ").join(self._retention_sql("p", fname) for fname in fnames),
                    ids,
                )
            )
            values = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        for partner in self:
            row = values.get(partner._origin.id) or [False] * len(fnames)
            for fname, value in zip(fnames, row, strict=True):
                partner[fname] = value or False
