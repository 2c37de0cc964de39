# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Customers a document moved away from.

The hourly job and the night's update of Retention Analysis find the
customers to recompute through the documents written since their last run,
by each document's *current* customer. An order given to another customer,
or a contact moved to another firm, changes the customer it left as well,
whose own documents were not written: without this record the old customer
kept the order in their values until the night and in Retention Analysis
for good.

The writes of ``sale.order``, ``account.move`` and ``res.partner``, and the
contact merge, record here the commercial partner a document, or a
contact's documents, leave and the one they join;
``retention_store.changed_customers`` reads it next to the documents. Rows
are only inserted, by the user's own transaction (no lock on anything the
nightly run writes), and purged once every company's runs are past them.
"""

import contextlib

from odoo import api, fields, models
from odoo.tools import SQL

from .retention_store import CHANGE_OVERLAP


class RetentionMovedCustomer(models.Model):
    _name = "retention.moved.customer"
    _description = "Customer Retention: Customer a Document Moved Away From"
    _order = "moved_at desc, id desc"
    _log_access = False

    company_id = fields.Many2one(
        "res.company",
        ondelete="cascade",
        readonly=True,
        help="Company of the document; empty for a contact moved to another firm, "
        "which concerns every company.",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        ondelete="cascade",
        readonly=True,
    )
    moved_at = fields.Datetime(required=True, readonly=True, index=True)

    @contextlib.contextmanager
    def _watch(self, records, customer, company=lambda record: None, joined=True):
        """Around a write of ``records``: record the customer each record
        leaves, and with ``joined`` the one it joins, where
        ``customer(record)`` (a commercial partner) changed;
        ``company(record)`` is the company concerned (None: every
        company)."""
        before = [(record, customer(record)) for record in records]
        yield
        moved = [(record, old) for record, old in before if customer(record) != old]
        firms = list(moved)
        if joined:
            firms += [(record, customer(record)) for record, _old in moved]
        # sudo: the bookkeeping of any user who may write the records
        self.sudo()._record((company(record), firm.id) for record, firm in firms)

    @api.model
    def _watch_documents(self, documents):
        """:meth:`_watch` around a write of orders or invoices (the customer
        they join is found through their write)."""
        return self._watch(
            documents,
            lambda document: document.partner_id.commercial_partner_id,
            lambda document: document.company_id.id,
            joined=False,
        )

    @api.model
    def _record(self, moves):
        """Record ``moves``, (company id or None, commercial partner id)
        pairs, as of this transaction's time (the documents' write_date)."""
        moves = {(company or None, partner) for company, partner in moves if partner}
        if not moves:
            return
        self.env.cr.execute(
            SQL(
                "INSERT INTO retention_moved_customer"
                " (company_id, partner_id, moved_at) VALUES %s",
                SQL(", ").join(
                    SQL("(%s, %s, %s)", company, partner, self.env.cr.now())
                    for company, partner in moves
                ),
            )
        )

    @api.model
    def _purge(self):
        """Forget the moves that every company's hourly job and Retention
        Analysis have read (with the change look-up's overlap)."""
        # sudo: the runs' watermarks, read by the run that purges
        runs = self.env["retention.run"].sudo().search([])
        # A run without a watermark reads everything next time: it needs none.
        marks = [
            mark
            for run in runs
            for mark in (run._changed_since(), run.report_until)
            if mark
        ]
        if not marks:
            self.env.cr.execute("DELETE FROM retention_moved_customer")
            return
        self.env.cr.execute(
            "DELETE FROM retention_moved_customer WHERE moved_at < %s",
            [min(marks) - CHANGE_OVERLAP],
        )
