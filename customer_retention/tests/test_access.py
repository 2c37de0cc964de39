# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.customer_retention.models import retention_store
from odoo.addons.customer_retention.models.res_partner import RETENTION_FIELDS
from odoo.addons.customer_retention.models.retention_jobs import RetentionBusyError
from odoo.addons.customer_retention.models.retention_run import RetentionRun

from .common import AS_OF, RetentionCase
from .test_cron import lock_held_elsewhere


@tagged("post_install", "-at_install")
class TestAccess(RetentionCase):
    """Who may see retention values and who may change them, tried the way
    RPC reaches the server: as each kind of user, on public methods, with
    create and write, whatever the views show or hide."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Branch B"})
        cls.customer = cls._customer("Garage Client")
        cls._order(cls.customer, date(2025, 6, 1), 100)
        cls._order(cls.customer, date(2025, 5, 1), 300, company=cls.company_b)
        cls.rep = cls._user("access_rep", "sales_team.group_sale_salesman")
        cls.manager_a = cls._user("access_manager", "sales_team.group_sale_manager")
        # May edit every contact, has no sales rights.
        cls.employee = cls._user(
            "access_employee", "base.group_user,base.group_partner_manager"
        )
        # May edit every contact and sees retention values.
        cls.rep_editor = cls._user(
            "access_rep_editor",
            "sales_team.group_sale_salesman,base.group_partner_manager",
        )
        cls.portal = cls._user("access_portal", "base.group_portal")
        cls.env["res.partner"].retention_recompute(as_of=AS_OF)

    def test_only_sales_users_read_retention_values(self):
        self.assertEqual(self.customer.with_user(self.rep).retention_revenue, 100.0)
        for user in (self.employee, self.portal):
            partner = (
                self.portal.partner_id if user == self.portal else self.customer
            ).with_user(user)
            with self.assertRaises(AccessError, msg=user.login):
                partner.read(["retention_revenue"])
            with self.assertRaises(AccessError, msg=user.login):
                partner.read(["retention_status"])
            described = partner.fields_get()
            self.assertFalse(set(RETENTION_FIELDS) & set(described), user.login)
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.employee).search(
                [("retention_status", "=", "new")]
            )

    def test_nobody_writes_retention_values(self):
        # Read-only in the form is no protection over RPC.
        for user in (self.rep_editor, self.employee):
            with self.assertRaises(AccessError, msg=user.login):
                self.customer.with_user(user).write({"retention_status": "lost"})
            with self.assertRaises(AccessError, msg=user.login):
                self.env["res.partner"].with_user(user).create(
                    {"name": "Forged", "retention_alert": "at_risk"}
                )
        self.assertRetention(self.customer, status="new")
        # Their ordinary edits still go through.
        self.customer.with_user(self.rep_editor).write({"phone": "+48 512 345 678"})
        self.assertEqual(self.customer.phone, "+48 512 345 678")

    def test_refresh_button_needs_sales_rights(self):
        with self.assertRaises(AccessError):
            self.customer.with_user(self.employee).action_retention_recompute()
        with self.assertRaises(AccessError):
            self.portal.partner_id.with_user(self.portal).action_retention_recompute()
        self.customer.with_user(self.rep).action_retention_recompute()
        # As of today the order of 2025-06-01 is long past.
        self.assertRetention(self.customer, last_order_date=date(2025, 6, 1))

    def test_the_recompute_button_takes_a_bounded_number_of_customers(self):
        # Issue 21, hole 4: 1,200 customers in one click were a whole-company
        # recompute inside a web request. The bound: REQUEST_MAX_CUSTOMERS
        # (20) customers; more are refused before anything is read.
        bound = retention_store.REQUEST_MAX_CUSTOMERS
        many = self.env["res.partner"].create(
            [{"name": f"Walk-in {index}"} for index in range(bound + 1)]
        )
        before = self.customer.retention_computed_at
        with self.assertRaisesRegex(UserError, "at most 20 customers"):
            (many | self.customer).with_user(self.rep).action_retention_recompute()
        self.assertEqual(self.customer.retention_computed_at, before)
        # Contacts count once, as their company.
        contacts = self.env["res.partner"].create(
            [
                {"name": f"Buyer {index}", "parent_id": self.customer.id}
                for index in range(bound + 5)
            ]
        )
        contacts.with_user(self.rep).action_retention_recompute()
        (many[: bound - 1] | self.customer).with_user(
            self.rep
        ).action_retention_recompute()

    def test_a_whole_company_recompute_over_rpc_is_bounded(self):
        # A Sales administrator's retention_recompute() runs in the request
        # for a company with at most REQUEST_MAX_DOCUMENTS sales documents;
        # a bigger one is the daily job's (here: the bound lowered to 0).
        with (
            patch.object(retention_store, "REQUEST_MAX_DOCUMENTS", 0),
            self.assertRaisesRegex(UserError, "too many to recompute inside one"),
        ):
            self.env["res.partner"].with_user(self.manager_a).retention_recompute()
        self.assertTrue(retention_store.documents_exceed(self.company, 0))
        self.assertFalse(retention_store.documents_exceed(self.company, 1))
        self.assertTrue(retention_store.documents_exceed(self.company_b, 0))
        # Server code (scripts, the tests' own set-up) is not bounded.
        with patch.object(retention_store, "REQUEST_MAX_DOCUMENTS", 0):
            self.assertGreater(self.env["res.partner"].retention_recompute(), 0)

    def test_company_figures_are_for_sales_and_settings_only(self):
        # Issue 21, hole 5: portal users and internal users without Sales
        # rights read the company's retention fields over RPC (the run's
        # error text, its cursor, the outlook's parameters, the calibration).
        company_fields = [
            name for name in self.env["res.company"]._fields if "retention" in name
        ]
        self.assertGreater(len(company_fields), 35)
        for name in company_fields:
            self.assertTrue(
                self.env["res.company"]._fields[name].groups, f"{name} has no groups"
            )
        for user, fname in (
            (self.portal, "retention_run_id"),
            (self.employee, "retention_run_id"),
            (self.employee, "retention_calibrated_groups"),
            (self.employee, "retention_threshold_mode"),
        ):
            company = self.company.with_user(user)
            with self.assertRaises(AccessError, msg=f"{user.login}: {fname}"):
                company.read([fname])
            with self.assertRaises(AccessError, msg=f"{user.login}: {fname}"):
                company.search_read([], [fname])
            self.assertNotIn(fname, company.fields_get(), user.login)
        # Their own work is untouched: reading the company, editing a contact.
        self.assertTrue(self.company.with_user(self.employee).read(["name"]))
        self.customer.with_user(self.employee).write({"phone": "+48 600 000 000"})
        # Sales users and Settings administrators read them.
        admin = self._user("access_admin", "base.group_system")
        for user in (self.rep, admin):
            self.assertTrue(
                self.company.with_user(user).read(["retention_lookback_days"])
            )
        # The run's state (its error text, its position, the outlook's
        # parameters) is a record of its own, for the same users.
        run = self.company._retention_run()
        Run = self.env["retention.run"]
        for user, fname in (
            (self.portal, "last_error"),
            (self.employee, "last_error"),
            (self.employee, "prediction_params"),
            (self.employee, "cursor"),
            (self.employee, "prediction_bgnbd_auc"),
        ):
            with self.assertRaises(AccessError, msg=f"{user.login}: {fname}"):
                run.with_user(user).read([fname])
            with self.assertRaises(AccessError, msg=f"{user.login}: {fname}"):
                Run.with_user(user).search_read([], [fname])
        for user in (self.rep, admin):
            self.assertTrue(run.with_user(user).read(["last_error", "cursor"]))
        # Of their own companies only.
        run_b = self.company_b._retention_run()
        for user in (self.rep, admin):
            self.assertEqual(Run.with_user(user).search([]), run, user.login)
            with self.assertRaises(AccessError, msg=user.login):
                run_b.with_user(user).read(["last_error"])
        # Nobody but the run writes it.
        for user in (self.rep, self.manager_a, admin):
            with self.assertRaises(AccessError, msg=user.login):
                run.with_user(user).write({"last_error": "forged"})
            with self.assertRaises(AccessError, msg=user.login):
                Run.with_user(user).create({"company_id": self.company_b.id})
            with self.assertRaises(AccessError, msg=user.login):
                run.with_user(user).unlink()

    def test_manager_recomputes_only_own_companies(self):
        # A manager of the main company back-tests as of 2025-05-15: the main
        # company's values change, Branch B's (as of 2025-06-30) do not.
        b_before = self.customer.with_company(self.company_b).retention_computed_at
        self.env["res.partner"].with_user(self.manager_a).retention_recompute(
            as_of="2025-05-15"
        )
        self.assertRetention(self.customer, status=False)  # no order yet on 2025-05-15
        self.assertRetention(
            self.customer, company=self.company_b, status="new", revenue=300.0
        )
        self.assertEqual(
            self.customer.with_company(self.company_b).retention_computed_at, b_before
        )
        # Naming Branch B in the context is refused by Odoo itself.
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.manager_a).with_context(
                allowed_company_ids=self.company_b.ids
            ).retention_recompute()
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.rep).retention_recompute()

    def test_bad_or_future_reference_day(self):
        Partner = self.env["res.partner"].with_user(self.manager_a)
        tomorrow = fields.Date.context_today(Partner) + timedelta(days=1)
        for value, message in (
            ("next tuesday", "is not a date"),
            ("2025-13-45", "is not a date"),
            (tomorrow.isoformat(), "orders of the future are unknown"),
            (42, "is not a date"),
        ):
            with self.assertRaisesRegex(UserError, message, msg=value):
                Partner.retention_recompute(as_of=value)
        self.assertRetention(self.customer, status="new")

    def test_one_recompute_at_a_time(self):
        # Another worker recomputes the company: the button and RPC wait
        # briefly, then say so instead of running a second recompute.
        with (
            lock_held_elsewhere(self.env.cr, self.company),
            patch.object(retention_store, "UI_LOCK_WAIT", 0),
        ):
            with self.assertRaisesRegex(
                RetentionBusyError, "being recomputed right now"
            ):
                self.customer.with_user(self.rep).action_retention_recompute()
            with self.assertRaises(RetentionBusyError):
                self.env["res.partner"].with_user(self.manager_a).retention_recompute(
                    as_of=AS_OF
                )
        self.customer.with_user(self.rep).action_retention_recompute()

    def test_a_failed_recompute_releases_the_lock(self):
        # A recompute that breaks must not leave the company locked: the next
        # one, from any worker, goes through at once.
        def broken(company, *args, **kwargs):
            raise ZeroDivisionError("bad data")

        with (
            patch.object(RetentionRun, "_recompute_locked", broken),
            self.assertRaises(ZeroDivisionError),
            self.env.cr.savepoint(),
        ):
            self.company._retention_recompute(as_of=AS_OF)
        with retention_store.company_lock(self.env.cr, self.company.id, wait=0):
            pass  # taken at once: nobody holds it
        self.company._retention_recompute(as_of=AS_OF)
