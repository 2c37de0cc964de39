# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import TransactionCase, tagged

from ..report.retention_report import REPORT_COLUMNS


@tagged("post_install", "-at_install")
class TestHandMadeTables(TransactionCase):
    """retention_report is created by the addon (``_auto = False``), so Odoo
    adds no column to it when ``-u`` brings a new field: init() does, from
    the list the table is created from. (The upgrade from earlier releases
    as a whole: ``python3 -m tests.upgrade``.)"""

    def _columns(self):
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'retention_report'"
        )
        return {name for (name,) in self.env.cr.fetchall()}

    def test_every_stored_field_is_a_declared_column(self):
        declared = {name for name, _definition in REPORT_COLUMNS}
        fields = self.env["retention.report"]._fields.values()
        self.assertEqual(declared, {field.name for field in fields if field.store})
        self.assertEqual(self._columns(), declared)

    def test_update_adds_the_columns_an_older_table_lacks(self):
        cr = self.env.cr
        # A table made by an earlier version: without two of today's columns
        # (a plain and a generated one), with a row.
        cr.execute(
            "ALTER TABLE retention_report DROP COLUMN categ_id,"
            " DROP COLUMN return_rate_same_user"
        )
        partner = self.env["res.partner"].create({"name": "Old Row"})
        cr.execute(
            """
            INSERT INTO retention_report
                   (company_id, period_type, period_start, partner_id,
                    returned, returned_same_user, complete)
            VALUES (%s, 'month', '2025-01-01', %s, TRUE, FALSE, TRUE)
            RETURNING id
            """,
            [self.env.company.id, partner.id],
        )
        row_id = cr.fetchone()[0]
        self.env["retention.report"].init()
        self.assertEqual(self._columns(), {name for name, _d in REPORT_COLUMNS})
        cr.execute(
            "SELECT categ_id, return_rate_same_user, outcome, return_rate"
            " FROM retention_report WHERE id = %s",
            [row_id],
        )
        self.assertEqual(cr.fetchone(), (None, 0.0, "returned", 100.0))
        # Run again on a complete table: nothing to add, nothing fails.
        self.env["retention.report"].init()
        self.assertEqual(self._columns(), {name for name, _d in REPORT_COLUMNS})
