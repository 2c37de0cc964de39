# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Retention over time in a real database: the status history, who came
back after each period (the DIKIDI example), the pulse tables, read the way
the web client reads them, as a salesperson, in a company on Warsaw's
clock with a second company present."""

from datetime import date, datetime, time, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..models import retention_history, retention_store
from .common import AS_OF, RetentionCase

DECEMBER = date(2024, 12, 1)
MARCH = date(2025, 3, 1)
MEASURES = [
    "customer_count:sum",
    "returned_count:sum",
    "lost_count:sum",
    "return_rate:avg",
    "return_rate_same_user:avg",
]


class HistoryCase(RetentionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Europe/Warsaw"
        cls.other_company = cls.env["res.company"].create({"name": "Second Shop"})
        cls.rep = cls._user("history_rep", "sales_team.group_sale_salesman")
        cls.karolina = cls._user("karolina", "sales_team.group_sale_salesman")
        cls.marta = cls._user("marta", "sales_team.group_sale_salesman")

    @classmethod
    def _orders(cls, specs):
        """Confirmed orders from (partner, day, amount, product, user), made
        at once; each dated at noon UTC of its day (14:00 in Warsaw)."""
        orders = cls.env["sale.order"].create(
            [
                {
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "user_id": user.id if user else False,
                    "order_line": [
                        (
                            0,
                            0,
                            {
                                "product_id": (product or cls.service).id,
                                "product_uom_qty": 1,
                                "price_unit": amount,
                                "tax_id": [(6, 0, [])],
                            },
                        )
                    ],
                }
                for partner, _day, amount, product, user in specs
            ]
        )
        orders.action_confirm()
        for order, (_partner, day, *_rest) in zip(orders, specs, strict=True):
            order.date_order = datetime.combine(day, time(12, 0))
        return orders

    def _run(self, day=AS_OF):
        """The whole-company run of ``day``, as the daily job runs it."""
        with freeze_time(datetime.combine(day, time(12, 0))):
            self.company._retention_run_step(budget=1000)

    def _age_orders(self):
        """The orders so far were last written the day before AS_OF: only
        those written later count as changed. (PostgreSQL stamps write_date
        with its own clock, which the frozen test clock does not move.)"""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE sale_order SET write_date = %s",
            [datetime.combine(AS_OF - timedelta(days=1), time(12, 0))],
        )


@tagged("post_install", "-at_install")
class TestStatusHistory(HistoryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Every 30 days, last order 46 days before AS_OF: active on AS_OF - 10
        # (36 days, threshold 1.5 x 30 = 45), at risk on AS_OF (46 > 45).
        cls.slipping = cls._customer("Slipping Garage")
        # At risk on AS_OF - 10 (last order 70 days before), back on AS_OF.
        cls.returning = cls._customer("Returning Salon")
        # Active both days: no change.
        cls.steady = cls._customer("Steady Shop")
        specs = [
            (cls.slipping, AS_OF - timedelta(days=n), 50.0, None, None)
            for n in (136, 106, 76, 46)
        ]
        specs += [
            (cls.returning, AS_OF - timedelta(days=n), 80.0, None, None)
            for n in (130, 100, 70)
        ]
        specs += [
            (cls.steady, AS_OF - timedelta(days=n), 20.0, None, None)
            for n in (125, 95, 65, 35, 12, 5)
        ]
        cls._orders(specs)

    def _changes(self, partner=None):
        domain = [("company_id", "=", self.company.id)]
        if partner:
            domain.append(("partner_id", "=", partner.id))
        return self.env["retention.status.change"].search(domain)

    def test_the_first_run_records_no_change(self):
        self._run(AS_OF - timedelta(days=10))
        self.assertFalse(self._changes())

    def test_changes_are_recorded_once_for_the_customers_that_changed(self):
        self._run(AS_OF - timedelta(days=10))
        self._orders([(self.returning, AS_OF, 90.0, None, None)])
        self._run(AS_OF)
        changes = self._changes()
        self.assertEqual(
            {(c.partner_id, c.old_status, c.new_status, c.date) for c in changes},
            {
                (self.slipping, "active", "at_risk", AS_OF),
                (self.returning, "at_risk", "active", AS_OF),
            },
        )
        slipping = self._changes(self.slipping)
        # the figures at that moment: 4 orders of 50 in the window, every
        # 30 days, 46 days since the last one
        self.assertEqual(slipping.revenue, 200.0)
        self.assertEqual(slipping.cadence_days, 30.0)
        self.assertEqual(slipping.days_since_last, 46)
        # Again the same day, and a partial recompute: nothing new.
        self._run(AS_OF)
        self.company._retention_recompute(partner_ids=self.returning.ids)
        self.assertEqual(len(self._changes()), 2)
        # Status Flows counts them per month, as a salesperson reads it.
        flows = (
            self.env["retention.status.flow"]
            .with_user(self.rep)
            .read_group(
                [],
                ["customers:sum"],
                ["month:month", "old_status", "new_status"],
                lazy=False,
            )
        )
        self.assertEqual(
            {(f["old_status"], f["new_status"]): f["customers"] for f in flows},
            {("active", "at_risk"): 1, ("at_risk", "active"): 1},
        )
        self.assertEqual({f["month:month"] for f in flows}, {"June 2025"})

    def test_a_change_undone_the_same_day_leaves_nothing(self):
        self._run(AS_OF - timedelta(days=10))
        with freeze_time(datetime.combine(AS_OF - timedelta(days=10), time(13, 0))):
            order = self._orders(
                [(self.slipping, AS_OF - timedelta(days=10), 10.0, None, None)]
            )
            self.company._retention_recompute(partner_ids=self.slipping.ids)
            order._action_cancel()
            self.company._retention_recompute(partner_ids=self.slipping.ids)
        self.assertFalse(self._changes(self.slipping))

    def test_a_customer_whose_orders_are_all_cancelled_changes_to_no_status(self):
        self._run(AS_OF - timedelta(days=10))
        self.env["sale.order"].search(
            [("partner_id", "=", self.steady.id)]
        )._action_cancel()
        self.company._retention_recompute(partner_ids=self.steady.ids)
        change = self._changes(self.steady)
        self.assertEqual(
            (change.old_status, change.new_status, change.date),
            ("active", False, AS_OF),
        )

    def test_an_interrupted_run_writes_no_duplicate_change(self):
        self._run(AS_OF - timedelta(days=10))

        class Killed(Exception):
            pass

        # The run of AS_OF dies after its chunk wrote values and changes,
        # before the chunk is committed: both are rolled back together.
        with (
            freeze_time(datetime.combine(AS_OF, time(12, 0))),
            patch.object(retention_store, "clear_stale", side_effect=Killed),
            self.assertRaises(Killed),
            self.env.cr.savepoint(),
        ):
            self.company._retention_run_step(budget=1000)
        self.assertFalse(self._changes())
        self._run(AS_OF)
        self._run(AS_OF)
        self.assertEqual(len(self._changes(self.slipping)), 1)

    def test_partner_filters_on_this_week_and_month(self):
        self._run(AS_OF - timedelta(days=10))
        self._orders([(self.returning, AS_OF, 90.0, None, None)])
        self._run(AS_OF)
        partners = self.env["res.partner"].with_user(self.rep)

        def found(key):
            return partners.search([("retention_recent_change", "=", key)])

        # AS_OF (30 June 2025) is a Monday: both changes are of this week.
        self.assertEqual(found("at_risk_week"), self.slipping)
        self.assertEqual(found("at_risk_month"), self.slipping)
        self.assertEqual(found("returned_month"), self.returning)
        self.assertFalse(found("lost_month"))
        # The next Monday, "this week" is another week; the month is July.
        with freeze_time(datetime(2025, 7, 7, 12, 0)):
            self.assertFalse(found("at_risk_week"))
            self.assertFalse(found("at_risk_month"))
        # Another company's history is not this company's.
        self.assertFalse(
            partners.with_company(self.other_company)
            .sudo()
            .search([("retention_recent_change", "=", "at_risk_week")])
        )

    def test_timeline_on_the_partner(self):
        self._run(AS_OF - timedelta(days=10))
        self._run(AS_OF)
        timeline = self.slipping.with_user(self.rep).retention_timeline_ids
        self.assertEqual(
            [(c.old_status, c.new_status) for c in timeline], [("active", "at_risk")]
        )
        self.assertFalse(
            self.slipping.with_company(self.other_company).retention_timeline_ids
        )

    def test_old_changes_are_purged(self):
        self._run(AS_OF - timedelta(days=10))
        self._orders([(self.returning, AS_OF, 90.0, None, None)])
        self._run(AS_OF)
        change = self._changes(self.slipping)
        change.sudo().write({"date": date(2022, 6, 29)})  # three years and a day
        kept = self._changes(self.returning)
        self.env["retention.status.change"]._purge(self.company, 3, AS_OF)
        self.assertFalse(change.exists())
        self.assertTrue(kept.exists())
        with self.assertRaises(ValidationError):
            self.company.retention_history_years = -1

    def test_salesperson_cannot_write_history(self):
        self._run(AS_OF - timedelta(days=10))
        self._run(AS_OF)
        change = self._changes(self.slipping).with_user(self.rep)
        self.assertEqual(change.new_status, "at_risk")
        from odoo.exceptions import AccessError

        with self.assertRaises(AccessError):
            change.write({"new_status": "active"})
        with self.assertRaises(AccessError):
            self.env["retention.status.change"].with_user(self.rep).create(
                {
                    "company_id": self.company.id,
                    "partner_id": self.steady.id,
                    "date": AS_OF,
                }
            )


@tagged("post_install", "-at_install")
class TestWhoCameBack(HistoryCase):
    """DIKIDI: Karolina and Marta each served 31 clients in December; in
    January 25 of Karolina's did not come back, 5 of Marta's. After eyelash
    extensions 60 % come back, after a manicure 20 % (here: March)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lashes = cls._product("Eyelash extensions", cls.category_service)
        cls.manicure = cls._product("Manicure", cls.category_tyres)
        partners = cls.env["res.partner"].create(
            [{"name": f"Client {n:03d}"} for n in range(1, 83)]
        )
        cls.karolinas, cls.martas = partners[:31], partners[31:62]
        lash_clients, manicure_clients = partners[62:72], partners[72:82]
        dec, jan = date(2024, 12, 10), date(2025, 1, 14)
        specs = [(p, dec, 100.0, cls.lashes, cls.karolina) for p in cls.karolinas]
        specs += [(p, dec, 100.0, cls.lashes, cls.marta) for p in cls.martas]
        # Karolina's 6 back: 3 to her, 3 to Marta; 26 of Marta's back to her.
        specs += [(p, jan, 90.0, cls.lashes, cls.karolina) for p in cls.karolinas[:3]]
        specs += [(p, jan, 90.0, cls.lashes, cls.marta) for p in cls.karolinas[3:6]]
        specs += [(p, jan, 90.0, cls.lashes, cls.marta) for p in cls.martas[:26]]
        mar, apr = date(2025, 3, 5), date(2025, 4, 9)
        specs += [(p, mar, 50.0, cls.lashes, None) for p in lash_clients]
        specs += [(p, mar, 30.0, cls.manicure, None) for p in manicure_clients]
        specs += [(p, apr, 50.0, cls.lashes, None) for p in lash_clients[:6]]
        specs += [(p, apr, 30.0, cls.manicure, None) for p in manicure_clients[:2]]
        # May: its following month, June, has not ended on 30 June.
        cls.may_client = cls._customer("May Client")
        specs.append((cls.may_client, date(2025, 5, 20), 40.0, None, cls.karolina))
        cls._orders(specs)

    def _cells(self, domain, groupby):
        """Pivot cells as the web client asks for them, as a salesperson."""
        groups = (
            self.env["retention.report"]
            .with_user(self.rep)
            .read_group(domain, MEASURES, groupby, lazy=False)
        )
        return {
            group[groupby[0]] and group[groupby[0]][1]: {
                name.split(":")[0]: group[name.split(":")[0]] for name in MEASURES
            }
            for group in groups
        }

    def test_dikidi_per_salesperson(self):
        self._run()
        cells = self._cells(
            [("period_type", "=", "month"), ("period_start", "=", DECEMBER)],
            ["user_id"],
        )
        self.assertEqual(
            cells,
            {
                # 6 of 31 back: 19.4 %; 3 of them to Karolina herself: 9.7 %
                self.karolina.name: {
                    "customer_count": 31,
                    "returned_count": 6,
                    "lost_count": 25,
                    "return_rate": 19.4,
                    "return_rate_same_user": 9.7,
                },
                # 26 of 31 back, all to Marta: 83.9 %
                self.marta.name: {
                    "customer_count": 31,
                    "returned_count": 26,
                    "lost_count": 5,
                    "return_rate": 83.9,
                    "return_rate_same_user": 83.9,
                },
            },
        )
        # The quarter: Q4 2024 -> Q1 2025, the same customers.
        quarter = self._cells(
            [("period_type", "=", "quarter"), ("period_start", "=", date(2024, 10, 1))],
            ["user_id"],
        )
        self.assertEqual(quarter[self.karolina.name]["lost_count"], 25)

    def test_dikidi_per_category(self):
        self._run()
        cells = self._cells(
            [("period_type", "=", "month"), ("period_start", "=", MARCH)],
            ["categ_id"],
        )
        rates = {name: cell["return_rate"] for name, cell in cells.items()}
        self.assertEqual(
            rates,
            {
                self.category_service.display_name: 60.0,
                self.category_tyres.display_name: 20.0,
            },
        )

    def test_a_customer_served_twice_counts_once(self):
        self._run()
        # Karolina's clients 4..6 came back to Marta in January: in the
        # January cells they are Marta's 29 customers, the whole month 32.
        january = [
            ("period_type", "=", "month"),
            ("period_start", "=", date(2025, 1, 1)),
        ]
        cells = self._cells(january, ["user_id"])
        self.assertEqual(cells[self.marta.name]["customer_count"], 29)
        total = (
            self.env["retention.report"]
            .with_user(self.rep)
            .read_group(january, ["customer_count:sum"], [])
        )
        self.assertEqual(total[0]["customer_count"], 32)

    def test_the_period_in_progress_is_not_churn(self):
        self._run()
        may = self._cells(
            [("period_type", "=", "month"), ("period_start", "=", date(2025, 5, 1))],
            ["user_id"],
        )
        self.assertEqual(may[self.karolina.name]["customer_count"], 1)
        self.assertEqual(may[self.karolina.name]["lost_count"], 0)
        self.assertFalse(may[self.karolina.name]["return_rate"])
        row = self.env["retention.report"].search(
            [("partner_id", "=", self.may_client.id), ("period_type", "=", "month")]
        )
        self.assertEqual((row.outcome, row.complete), ("pending", False))
        # On 1 July, June has ended: May's row is settled as not back (the
        # same row: nobody's orders changed).
        self._age_orders()
        self._run(date(2025, 7, 1))
        self.assertEqual((row.outcome, row.complete), ("not_returned", True))

    def test_not_back_customers_open_as_a_partner_list(self):
        self._run()
        reports = self.env["retention.report"].with_user(self.rep)
        cell = [
            ("period_type", "=", "month"),
            ("period_start", "=", DECEMBER),
            ("user_id", "=", self.karolina.id),
            ("outcome", "=", "not_returned"),
        ]
        # The list's "Open as Customers" with nothing selected: the whole list.
        action = reports.with_context(active_domain=cell).action_open_customers()
        partners = self.env["res.partner"].with_user(self.rep).search(action["domain"])
        self.assertEqual(partners, self.karolinas[6:])
        # With rows selected: their customers.
        selected = reports.search(cell, limit=2)
        action = selected.action_open_customers()
        self.assertEqual(
            self.env["res.partner"].search(action["domain"]), selected.partner_id
        )

    def test_a_second_night_rewrites_the_changed_customers_only(self):
        self._run()
        self._age_orders()
        reports = self.env["retention.report"]
        marta_rows = reports.search([("partner_id", "in", self.martas.ids)])
        client = self.karolinas[10]
        # The client's own December rows are not rewritten either: the new
        # order changes July's rows (and June's "came back", none here).
        december = reports.search(
            [("partner_id", "=", client.id), ("period_start", "=", DECEMBER)]
        )
        with freeze_time(datetime.combine(AS_OF + timedelta(days=1), time(9, 0))):
            self._orders([(client, AS_OF + timedelta(days=1), 70.0, None, self.marta)])
        self._run(AS_OF + timedelta(days=1))
        self.assertEqual(
            reports.search([("partner_id", "in", self.martas.ids)]), marta_rows
        )
        july = reports.search(
            [
                ("partner_id", "=", client.id),
                ("period_type", "=", "month"),
                ("period_start", "=", date(2025, 7, 1)),
            ]
        )
        self.assertEqual((july.user_id, july.revenue), (self.marta, 70.0))
        self.assertEqual(
            reports.search(
                [("partner_id", "=", client.id), ("period_start", "=", DECEMBER)]
            ),
            december,
        )
        # July's month and quarter are new rows; 2024 is now a year after
        # which the client came back.
        self.assertEqual(
            reports.search_count(
                [
                    ("partner_id", "=", client.id),
                    ("period_start", ">=", date(2025, 7, 1)),
                ]
            ),
            2,
        )
        year_2024 = reports.search(
            [
                ("partner_id", "=", client.id),
                ("period_type", "=", "year"),
                ("period_start", "=", date(2024, 1, 1)),
            ]
        )
        self.assertEqual(year_2024.outcome, "returned")

    def test_another_company_sees_none_of_it(self):
        self._run()
        other_rep = self.env["res.users"].create(
            {
                "name": "Other rep",
                "login": "other_history_rep",
                "company_id": self.other_company.id,
                "company_ids": [(6, 0, self.other_company.ids)],
                "groups_id": [
                    (6, 0, self.env.ref("sales_team.group_sale_salesman").ids)
                ],
            }
        )
        self.assertFalse(self.env["retention.report"].with_user(other_rep).search([]))
        self.assertFalse(self.env["retention.cohort"].with_user(other_rep).search([]))

    def test_a_user_without_sales_rights_reads_nothing(self):
        self._run()
        from odoo.exceptions import AccessError

        employee = self._user("history_employee", "base.group_user")
        with self.assertRaises(AccessError):
            self.env["retention.report"].with_user(employee).search([])


@tagged("post_install", "-at_install")
class TestPulse(HistoryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.anna = cls._customer("Anna")
        cls.boris = cls._customer("Boris")
        # Week of Monday 23 June 2025: Anna twice on Tuesday (one visit) and
        # on Thursday, Boris on Thursday: 3 visits, 2 customers. The same
        # week a year earlier (Monday 24 June 2024): Anna once.
        cls._orders(
            [
                (cls.anna, date(2024, 6, 25), 10.0, None, None),
                (cls.anna, date(2025, 6, 24), 10.0, None, None),
                (cls.anna, date(2025, 6, 24), 15.0, None, None),
                (cls.anna, date(2025, 6, 26), 10.0, None, None),
                (cls.boris, date(2025, 6, 26), 20.0, None, None),
            ]
        )
        # Cohorts: Anna's first month is June 2024, Boris's June 2025.

    def _rows(self, model, domain=()):
        return self.env[model].with_user(self.rep).search(list(domain))

    def test_visits_per_week_and_a_year_earlier(self):
        self._run()
        week = self._rows("retention.pulse.week", [("week", "=", date(2025, 6, 23))])
        figures = {row.series: (row.visits, row.customers) for row in week}
        self.assertEqual(figures, {"this": (3, 2), "year_before": (1, 1)})

    def test_weekday_and_hour_on_the_company_clock(self):
        self._run()
        # Noon UTC is 14:00 in Warsaw in June.
        cells = (
            self.env["retention.visit.hour"]
            .with_user(self.rep)
            .read_group(
                [("month", "=", date(2025, 6, 1))],
                ["visits:sum"],
                ["weekday", "hour"],
                lazy=False,
            )
        )
        self.assertEqual(
            {(c["weekday"], c["hour"]): c["visits"] for c in cells},
            {("1", 14): 1, ("3", 14): 2},
        )

    def test_cohorts_share_still_buying(self):
        self._run()
        cells = (
            self.env["retention.cohort"]
            .with_user(self.rep)
            .read_group(
                [("cohort_month", "=", date(2024, 6, 1))],
                ["share:avg", "cohort_size:max", "customers:sum"],
                ["months_after"],
                lazy=False,
            )
        )
        by_month = {c["months_after"]: (c["customers"], c["share"]) for c in cells}
        # Anna: June 2024 (0), then nothing until June 2025 (12); each month
        # in between is a 0 %, not a gap; the cohort has one customer.
        self.assertEqual(len(by_month), 13)
        self.assertEqual(by_month[0], (1, 100.0))
        self.assertEqual(by_month[1], (0, 0.0))
        self.assertEqual(by_month[12], (1, 100.0))
        june = self.env["retention.cohort"].read_group(
            [("cohort_month", "=", date(2024, 6, 1))], ["cohort_size:max"], []
        )
        self.assertEqual(june[0]["cohort_size"], 1)

    def test_statuses_at_month_ends_reconstructed_then_recorded(self):
        self._run()
        months = self._rows("retention.status.month")
        counts = {
            (m.month_end, m.status): (m.customers, m.reconstructed) for m in months
        }
        # 31 May 2025: Anna's one visit of June 2024 is 340 days old
        # -> at risk (no cadence: dormant 180 < 340 <= lost 365).
        self.assertEqual(counts[(date(2025, 5, 31), "at_risk")], (1, True))
        # 31 July 2024: Anna new (first order 36 days before).
        self.assertEqual(counts[(date(2024, 7, 31), "new")], (1, True))
        # Before her first order: nothing; three years back at most.
        self.assertNotIn(date(2024, 5, 31), {m.month_end for m in months})
        # This month: the stored statuses of the run (Anna active again
        # and Boris new), dated the run's day.
        this_month = {m.status: m.customers for m in months if m.month_end == AS_OF}
        self.assertEqual(this_month, {"active": 1, "new": 1})
        self.assertFalse(any(m.reconstructed for m in months if m.month_end == AS_OF))

    def test_a_run_cut_short_keeps_yesterdays_tables(self):
        self._run()
        before = self._rows("retention.pulse.week")
        before_figures = sorted((r.week, r.series, r.visits) for r in before)

        class Killed(Exception):
            pass

        with (
            patch.object(retention_history, "finish", side_effect=Killed),
            self.assertRaises(Killed),
            self.env.cr.savepoint(),
        ):
            self._run(AS_OF)
        after = self._rows("retention.pulse.week")
        self.assertEqual(
            sorted((r.week, r.series, r.visits) for r in after), before_figures
        )

    def test_chunks_of_one_customer_add_up(self):
        with (
            patch.object(retention_store, "CHUNK_CUSTOMERS", 1),
            patch.object(retention_store, "CHUNK_HISTORY", 1),
        ):
            self._run()
        week = self._rows("retention.pulse.week", [("week", "=", date(2025, 6, 23))])
        self.assertEqual(
            {row.series: (row.visits, row.customers) for row in week},
            {"this": (3, 2), "year_before": (1, 1)},
        )
        may = self._rows(
            "retention.status.month", [("month_end", "=", date(2025, 5, 31))]
        )
        self.assertEqual([(m.status, m.customers) for m in may], [("at_risk", 1)])
        # nothing of the chunks' shares is left behind
        for table in (
            "retention_pulse_week",
            "retention_cohort",
            "retention_visit_hour",
        ):
            self.env.cr.execute(
                f"SELECT count(*) FROM {table} WHERE building"  # noqa: S608
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0, table)


@tagged("post_install", "-at_install")
class TestWalkInCustomer(HistoryCase):
    """The till's anonymous customer ("Retail") counts for nobody: not in
    the values, not in Retention Analysis."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.retail = cls._customer("Retail")
        cls.anna = cls._customer("Anna")
        cls._orders(
            [
                (cls.retail, date(2025, 6, 23), 10.0, None, None),
                (cls.retail, date(2025, 6, 24), 12.0, None, None),
                (cls.anna, date(2025, 6, 24), 20.0, None, None),
            ]
        )

    def _week(self):
        week = self.env["retention.pulse.week"].search(
            [("week", "=", date(2025, 6, 23)), ("series", "=", "this")]
        )
        return week.visits, week.customers

    def test_the_walk_in_customer_counts_for_nobody(self):
        self._run()
        self.assertRetention(self.retail, status="new")
        self.assertEqual(self._week(), (3, 2))
        # Chosen in Settings, as an administrator would.
        settings = self.env["res.config.settings"].create(
            {"retention_walk_in_id": self.retail.id}
        )
        settings.execute()
        self.assertEqual(self.company.retention_walk_in_id, self.retail)
        # The next run rebuilds Retention Analysis without it.
        self.assertFalse(self.company._retention_run().report_until)
        self._run()
        self.assertFalse(self.retail.with_company(self.company).retention_status)
        self.assertRetention(self.anna, status="new", visit_count=1)
        self.assertEqual(self._week(), (1, 1))
        self.assertFalse(
            self.env["retention.report"].search([("partner_id", "=", self.retail.id)])
        )
        # Its contacts are the walk-in customer too.
        clerk = self._customer("Till clerk", parent_id=self.retail.id)
        self._orders([(clerk, AS_OF, 5.0, None, None)])
        self.company._retention_recompute(partner_ids=self.retail.ids)
        self.assertFalse(self.retail.with_company(self.company).retention_status)
