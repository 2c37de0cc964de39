# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Win-back calls in a real database: who gets a Call activity, assigned to
whom, never twice, within the salesperson's daily cap; the outcome and the
contact marks; what each kind of user may do over RPC; the report.

The scenario: five customers who ordered every 30 days, last 46 days
before AS_OF. The whole-company run of AS_OF - 10 sees them active (36 days,
threshold 1.5 x 30 = 45); the run of AS_OF sees them at risk (46 > 45) and
records the change. Revenue (4 orders in the window): Anna 400, Bartek 320,
Celina 240 (salesperson Rita on the customer), Dorota 200 (no salesperson on
the customer; her orders were sold by Olek), Edward 160 (nobody sells to him).
Steady orders every 10 days and stays active."""

from datetime import date, datetime, time, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import AS_OF, RetentionCase


class CallPlanCase(RetentionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.retention_call_daily_cap = 20
        cls.rita = cls._user("call_rita", "sales_team.group_sale_salesman")
        cls.olek = cls._user("call_olek", "sales_team.group_sale_salesman")
        cls.manager = cls._user("call_manager", "sales_team.group_sale_manager")
        cls.anna = cls._customer("Anna", user_id=cls.rita.id, mobile="+48 512 000 001")
        cls.bartek = cls._customer(
            "Bartek", user_id=cls.rita.id, mobile="+48 512 000 002"
        )
        cls.celina = cls._customer("Celina", user_id=cls.rita.id)
        cls.dorota = cls._customer("Dorota")
        cls.edward = cls._customer("Edward")
        cls.steady = cls._customer("Steady", user_id=cls.rita.id)
        specs = []
        for partner, amount, seller in (
            (cls.anna, 100.0, None),
            (cls.bartek, 80.0, None),
            (cls.celina, 60.0, None),
            (cls.dorota, 50.0, cls.olek),
            (cls.edward, 40.0, None),
        ):
            specs += [
                (partner, AS_OF - timedelta(days=n), amount, seller)
                for n in (136, 106, 76, 46)
            ]
        specs += [
            (cls.steady, AS_OF - timedelta(days=n), 20.0, None)
            for n in (40, 30, 20, 10)
        ]
        cls._confirmed_orders(specs)
        cls.slipping = cls.anna | cls.bartek | cls.celina | cls.dorota | cls.edward

    def _run(self, day=AS_OF, company=None):
        """The whole-company run of ``day``, as the daily job runs it."""
        with freeze_time(datetime.combine(day, time(12, 0))):
            (company or self.company)._retention_run_step(budget=1000)

    def _two_runs(self, company=None):
        self._run(AS_OF - timedelta(days=10), company)
        self._run(AS_OF, company)

    def _plan(self, day=AS_OF, **kwargs):
        with freeze_time(datetime.combine(day, time(12, 0))):
            return self.company._retention_plan_calls(**kwargs)

    def _calls(self, company=None, **domain):
        return self.env["retention.call"].search(
            [("company_id", "=", (company or self.company).id)]
            + [(name, "=", value) for name, value in domain.items()]
        )

    def _activities(self, partners):
        return self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "in", partners.ids)]
        )

    def _call_of(self, partner):
        return self._calls(partner_id=partner.id, state="planned")


@tagged("post_install", "-at_install")
class TestCallPlan(CallPlanCase):
    def test_one_call_activity_per_new_at_risk_customer(self):
        self._two_runs()
        counts = self._plan()
        # Anna, Bartek, Celina -> Rita (salesperson of the customer); Dorota
        # -> Olek (her last order); Edward: nobody; Steady is active.
        self.assertEqual(counts["planned"], 4)
        self.assertEqual(counts["no_salesperson"], 1)
        self.assertEqual(counts["capped"] + counts["excluded"], 0)
        calls = self._calls()
        self.assertEqual(
            {(call.partner_id, call.user_id) for call in calls},
            {
                (self.anna, self.rita),
                (self.bartek, self.rita),
                (self.celina, self.rita),
                (self.dorota, self.olek),
            },
        )
        anna = self._call_of(self.anna)
        self.assertEqual(anna.date, AS_OF)
        self.assertEqual(anna.status, "at_risk")
        self.assertEqual(anna.revenue, 400.0)
        activity = anna.activity_id
        self.assertEqual(activity, self._activities(self.anna))
        self.assertEqual(
            activity.activity_type_id, self.env.ref("mail.mail_activity_data_call")
        )
        self.assertEqual(activity.user_id, self.rita)
        self.assertEqual(activity.summary, "Win-back call")
        self.assertEqual(activity.date_deadline, AS_OF)
        reason = self.anna.with_company(self.company).retention_reason
        self.assertIn("46 days", reason)
        self.assertEqual(anna.reason, reason)
        self.assertIn(reason, str(activity.note))
        self.assertFalse(self._activities(self.edward | self.steady))
        # The partner shows the open call on its Retention tab.
        self.assertEqual(self.anna.retention_open_call_id, anna)

    def test_never_twice_over_several_runs(self):
        self._two_runs()
        first = self._plan()
        second = self._plan()
        third = self._plan()
        self.assertEqual(first["planned"], 4)
        for counts in (second, third):
            self.assertEqual(counts["planned"], 0)
            self.assertEqual(counts["already_planned"], 4)
        self.assertEqual(len(self._calls()), 4)
        for partner in self.slipping - self.edward:
            self.assertEqual(len(self._activities(partner)), 1, partner.name)
        # Past the check (a concurrent run): the unique index turns the
        # second open call away, and no activity is made for it.
        again = self.env["retention.call"]._create_plans(
            self.company, AS_OF, [(self.anna.id, self.olek.id, 400.0, "at_risk")]
        )
        self.assertFalse(again)
        self.assertEqual(len(self._activities(self.anna)), 1)

    def test_the_nightly_job_plans_after_the_run(self):
        self.company.retention_call_plan_auto = True
        plan_cron = self.env.ref("customer_retention.ir_cron_retention_plan_calls")
        self._run(AS_OF - timedelta(days=10))
        with freeze_time(datetime.combine(AS_OF, time(12, 0))):
            self.env["res.company"]._cron_retention_recompute()
            # The run's end triggers the planning job.
            self.assertTrue(
                self.env["ir.cron.trigger"].search([("cron_id", "=", plan_cron.id)])
            )
            for _attempt in range(3):
                self.env["retention.call"]._cron_plan()
        self.assertEqual(len(self._calls()), 4)
        self.assertEqual(len(self._activities(self.slipping)), 4)
        self.assertEqual(
            self.company.retention_calls_planned_at,
            datetime.combine(AS_OF, time(12, 0)),
        )

    def test_the_nightly_job_tells_busy_from_failed(self):
        # Another planning of the company holds its lock: the job comes back
        # a minute later, nothing is marked. Any other error, a UserError
        # too, is a failure: logged, and the company waits for its next run.
        self.company.retention_call_plan_auto = True
        self._two_runs()
        plan_cron = self.env.ref("customer_retention.ir_cron_retention_plan_calls")
        triggers = self.env["ir.cron.trigger"].sudo()
        Call = type(self.env["retention.call"])
        with (
            freeze_time(datetime.combine(AS_OF, time(12, 0))),
            patch.object(Call, "_plan_lock", return_value=False),
        ):
            before = triggers.search([("cron_id", "=", plan_cron.id)])
            self.env["retention.call"]._cron_plan()
            retry = triggers.search(
                [("cron_id", "=", plan_cron.id), ("id", "not in", before.ids)]
            )
        self.assertEqual(
            retry.mapped("call_at"), [datetime.combine(AS_OF, time(12, 1))]
        )
        self.assertFalse(self.company.retention_calls_planned_at)
        self.assertFalse(self._calls())
        with (
            freeze_time(datetime.combine(AS_OF, time(12, 0))),
            patch.object(Call, "_new_at_risk", side_effect=UserError("bad data")),
            self.assertLogs(
                "odoo.addons.customer_retention.models.retention_call", "ERROR"
            ),
        ):
            self.env["retention.call"]._cron_plan()
        self.assertTrue(self.company.retention_calls_planned_at)
        self.assertFalse(self._calls())

    def test_companies_without_the_option_are_not_planned(self):
        self._two_runs()
        self.env["retention.call"]._cron_plan()
        self.assertFalse(self._calls())

    def test_daily_cap_per_salesperson(self):
        # Cap 2: Anna and Bartek (most revenue) for Rita, Celina waits;
        # Dorota for Olek. The next day, Celina is planned.
        self._two_runs()
        self.company.retention_call_daily_cap = 2
        counts = self._plan()
        self.assertEqual((counts["planned"], counts["capped"]), (3, 1))
        self.assertEqual(
            self._calls().partner_id, self.anna | self.bartek | self.dorota
        )
        # Again the same day: Celina is still over Rita's cap.
        self.assertEqual(self._plan()["capped"], 1)
        counts = self._plan(AS_OF + timedelta(days=1))
        self.assertEqual((counts["planned"], counts["capped"]), (1, 0))
        celina = self._call_of(self.celina)
        self.assertEqual(
            (celina.user_id, celina.date), (self.rita, AS_OF + timedelta(days=1))
        )
        # 0: no cap.
        self.company.retention_call_daily_cap = 0
        self.assertEqual(self._plan()["capped"], 0)

    def test_daily_cap_setting_is_validated(self):
        for value in (-1, 1001):
            with self.assertRaisesRegex(ValidationError, "between 0 and 1000"):
                self.company.retention_call_daily_cap = value
        self.company.retention_call_daily_cap = 0
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.retention_call_daily_cap, 0)


@tagged("post_install", "-at_install")
class TestContactMarks(CallPlanCase):
    def test_marked_customers_are_not_called_nor_texted(self):
        self._two_runs()
        self.bartek.with_user(self.rita).action_retention_mark_moved_away()
        self.celina.with_user(self.rita).action_retention_mark_do_not_contact()
        self.assertEqual(self.bartek.retention_contact_block, "moved_away")
        self.assertEqual(self.celina.retention_contact_block, "do_not_contact")
        counts = self._plan()
        # Anna and Dorota; Bartek and Celina marked; Edward: no salesperson.
        self.assertEqual((counts["planned"], counts["excluded"]), (2, 2))
        self.assertEqual(self._calls().partner_id, self.anna | self.dorota)
        # The win-back SMS skips Bartek too, with its own reason.
        wizard = (
            self.env["retention.sms.wizard"]
            .with_user(self.rita)
            .with_context(
                active_model="res.partner", active_ids=(self.anna | self.bartek).ids
            )
            .create({})
        )
        self.assertEqual(wizard.send_partner_ids, self.anna)
        self.assertEqual(wizard.skip_contact_block_ids, self.bartek)
        self.assertEqual(wizard.skip_contact_block_count, 1)
        campaign = wizard._queue()
        self.assertEqual(campaign.skipped_contact_block_count, 1)
        skipped = campaign.line_ids.filtered(lambda line: line.kind == "skipped")
        self.assertEqual(
            (skipped.partner_id, skipped.skip_reason), (self.bartek, "contact_block")
        )
        # A contact person of a marked customer is skipped as well.
        person = self.env["res.partner"].create(
            {
                "name": "Bartek's wife",
                "parent_id": self.bartek.id,
                "mobile": "+48 512 000 003",
            }
        )
        self.assertEqual(wizard._classify(person)["contact_block"], person)
        # Cleared: planned again (still at risk, no call since).
        self.bartek.with_user(self.rita).action_retention_clear_contact_block()
        self.assertFalse(self.bartek.retention_contact_block)
        counts = self._plan()
        self.assertEqual((counts["planned"], counts["excluded"]), (1, 1))
        self.assertTrue(self._call_of(self.bartek))
        self.assertFalse(self._call_of(self.celina))

    def test_only_sales_users_mark(self):
        clerk = self._user("call_clerk", "base.group_user,base.group_partner_manager")
        with self.assertRaises(AccessError):
            self.anna.with_user(clerk).action_retention_mark_do_not_contact()
        self.assertFalse(self.anna.retention_contact_block)


@tagged("post_install", "-at_install")
class TestCallOutcome(CallPlanCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Second Shop"})

    def _record(self, call, outcome, note=False, user=None):
        wizard = (
            self.env["retention.call.outcome.wizard"]
            .with_user(user or call.user_id)
            .with_context(active_model="retention.call", active_id=call.id)
            .create({"outcome": outcome, "note": note})
        )
        wizard.action_confirm()

    def test_outcome_closes_the_activity_and_marks_moved_away(self):
        self._two_runs()
        self._plan()
        call = self._call_of(self.anna)
        self._record(call, "moved_away", "Moved to Kraków")
        self.assertEqual(call.state, "done")
        self.assertEqual(call.outcome, "moved_away")
        self.assertEqual(call.note, "Moved to Kraków")
        self.assertEqual(call.done_date, AS_OF)
        self.assertFalse(call.activity_id)
        self.assertFalse(self._activities(self.anna))
        self.assertEqual(self.anna.retention_contact_block, "moved_away")
        done = self.anna.message_ids.filtered(
            lambda m: "Outcome: Moved away" in (m.body or "")
        )
        self.assertEqual(done.author_id, self.rita.partner_id)
        # Marked: not planned again, even by hand.
        counts = self.company._retention_plan_calls(partners=self.anna)
        self.assertEqual(counts["excluded"], 1)
        # The partner's button opens the outcome dialog on the open call.
        action = self.bartek.with_user(self.rita).action_retention_call_outcome()
        self.assertEqual(
            action["context"]["default_call_id"], self._call_of(self.bartek).id
        )

    def test_outcome_dialog_reads_only_calls_the_user_may_record(self):
        # Issue 21, hole 1: Olek (own documents only) opened the dialog on
        # Rita's call, or on another company's, as call_id or active_id, and
        # read its reason and customer, computed as superuser.
        self._two_runs()
        self._plan()
        ritas = self._call_of(self.anna)
        self.assertTrue(ritas.reason)
        zofia = self._customer("Zofia", user_id=self.olek.id)
        # sudo: a call of the second shop, as its planning would make it
        others = (
            self.env["retention.call"]
            .sudo()
            .create(
                {
                    "company_id": self.company_b.id,
                    "partner_id": zofia.id,
                    "user_id": self.olek.id,
                    "date": AS_OF,
                    "reason": "Last order 200 days ago",
                }
            )
        )
        Wizard = self.env["retention.call.outcome.wizard"].with_user(self.olek)
        spec = {
            "call_id": {},
            "reason": {},
            "partner_id": {"fields": {"display_name": {}}},
        }
        for call in (ritas, others):
            with self.assertRaises(AccessError, msg=call.reason):
                Wizard.create({"call_id": call.id, "outcome": "won_back"})
            with self.assertRaises(AccessError, msg=call.reason):
                Wizard.with_context(
                    active_model="retention.call", active_id=call.id
                ).default_get(["call_id", "reason", "partner_id"])
            with self.assertRaises(AccessError, msg=call.reason):
                Wizard.onchange({"call_id": call.id}, ["call_id"], spec)
        # A call that does not exist, or not a call id at all.
        for bad in (10**9, "1", [ritas.id]):
            with self.assertRaises(UserError, msg=repr(bad)):
                Wizard.create({"call_id": bad, "outcome": "won_back"})
        # His own call: the dialog shows it, as the form reads it.
        dorotas = self._call_of(self.dorota)
        values = Wizard.onchange({"call_id": dorotas.id}, ["call_id"], spec)["value"]
        self.assertEqual(values["reason"], dorotas.reason)
        wizard = Wizard.with_context(
            active_model="retention.call", active_id=dorotas.id
        ).create({"outcome": "no_answer"})
        self.assertEqual(wizard.read(["reason"])[0]["reason"], dorotas.reason)
        wizard.action_confirm()
        self.assertEqual(dorotas.outcome, "no_answer")

    def test_done_or_deleted_in_the_chatter(self):
        self._two_runs()
        self._plan()
        bartek, celina = self._call_of(self.bartek), self._call_of(self.celina)
        # Done from the chatter by Rita: done without outcome, recorded later.
        bartek.activity_id.with_user(self.rita).action_feedback(feedback="Called")
        self.assertEqual((bartek.state, bartek.outcome), ("done", False))
        bartek.with_user(self.rita).write({"outcome": "price", "note": "Too dear"})
        self.assertEqual(bartek.outcome, "price")
        # Deleted: cancelled; the night does not plan it again, a hand may.
        celina.activity_id.with_user(self.rita).unlink()
        self.assertEqual(celina.state, "cancelled")
        self.assertEqual(self._plan()["planned"], 0)
        counts = self._plan(partners=self.celina | self.bartek)
        self.assertEqual(counts["planned"], 2)
        # Reassigned in the chatter: the call follows.
        self._call_of(self.celina).activity_id.user_id = self.olek
        self.assertEqual(self._call_of(self.celina).user_id, self.olek)

    def test_who_may_do_what(self):
        self._two_runs()
        self._plan()
        anna = self._call_of(self.anna)  # Rita's
        dorota = self._call_of(self.dorota)  # Olek's
        Calls = self.env["retention.call"]
        # Own documents: Olek sees his own call only, records none of Rita's.
        self.assertEqual(Calls.with_user(self.olek).search([]), dorota)
        with self.assertRaises(AccessError):
            anna.with_user(self.olek).read(["outcome"])
        with self.assertRaises(AccessError):
            self._record(anna, "won_back", user=self.olek)
        # All documents: reads every call, writes only their own.
        self.olek.groups_id |= self.env.ref("sales_team.group_sale_salesman_all_leads")
        self.assertEqual(len(Calls.with_user(self.olek).search([])), 4)
        with self.assertRaises(AccessError):
            anna.with_user(self.olek).write({"note": "mine now"})
        # Only the outcome and the notes, and no outcome without the call done.
        with self.assertRaises(AccessError):
            anna.with_user(self.rita).write({"user_id": self.olek.id})
        with self.assertRaises(UserError):
            anna.with_user(self.rita).write({"outcome": "won_back"})
        # Creating over RPC is refused: calls come from the planning only.
        with self.assertRaises(AccessError):
            Calls.with_user(self.rita).create(
                {
                    "company_id": self.company.id,
                    "partner_id": self.steady.id,
                    "date": AS_OF,
                }
            )
        # A manager records anybody's outcome.
        self._record(anna, "won_back", user=self.manager)
        self.assertEqual(anna.outcome, "won_back")

    def test_salesperson_plans_by_hand(self):
        self._two_runs()
        # Rita picks Anna (hers), Dorota (Olek's), Edward (nobody's) and
        # Steady (active): Anna for her, Edward taken by her; Dorota is
        # Olek's customer; Steady is not at risk.
        picked = self.anna | self.dorota | self.edward | self.steady
        with freeze_time(datetime.combine(AS_OF, time(12, 0))):
            action = picked.with_user(self.rita).action_retention_plan_call()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("2 win-back calls planned", action["params"]["message"])
        self.assertIn("1 followed by another salesperson", action["params"]["message"])
        self.assertIn("1 neither at risk nor lost", action["params"]["message"])
        self.assertEqual(
            {(c.partner_id, c.user_id) for c in self._calls()},
            {(self.anna, self.rita), (self.edward, self.rita)},
        )
        # A manager's pick goes to each customer's salesperson.
        with freeze_time(datetime.combine(AS_OF, time(12, 0))):
            self.dorota.with_user(self.manager).action_retention_plan_call()
        self.assertEqual(self._call_of(self.dorota).user_id, self.olek)
        clerk = self._user("call_clerk2", "base.group_user")
        with self.assertRaises(AccessError):
            self.bartek.with_user(clerk).action_retention_plan_call()

    def test_settings_button(self):
        self._two_runs()
        settings = self.env["res.config.settings"].with_user(self.manager)
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.rita).create(
                {}
            ).action_retention_plan_calls()
        admin = self.env.ref("base.user_admin")
        admin.groups_id |= self.env.ref("sales_team.group_sale_manager")
        settings = self.env["res.config.settings"].with_user(admin).create({})
        with freeze_time(datetime.combine(AS_OF, time(12, 0))):
            action = settings.action_retention_plan_calls()
        self.assertIn("4 win-back calls planned", action["params"]["message"])
        self.assertIn("1 without salesperson", action["params"]["message"])

    def test_companies_are_kept_apart(self):
        # The same slipping pattern in the second shop, for a customer of its own.
        rep_b = self.env["res.users"].create(
            {
                "name": "Rep B",
                "login": "call_rep_b",
                "company_id": self.company_b.id,
                "company_ids": [(6, 0, self.company_b.ids)],
                "groups_id": [
                    (6, 0, self.env.ref("sales_team.group_sale_salesman").ids)
                ],
            }
        )
        zofia = self._customer("Zofia", user_id=rep_b.id)
        self._confirmed_orders(
            [
                (zofia, AS_OF - timedelta(days=n), 70.0, None)
                for n in (136, 106, 76, 46)
            ],
            company=self.company_b,
        )
        self._two_runs()
        self._two_runs(self.company_b)
        self._plan()
        with freeze_time(datetime.combine(AS_OF, time(12, 0))):
            counts_b = self.company_b._retention_plan_calls()
        self.assertEqual(counts_b["planned"], 1)
        self.assertEqual(self._calls(self.company_b).partner_id, zofia)
        self.assertEqual(len(self._calls()), 4)
        # Rita works in the main company only: nothing of the second one.
        zofia_call = self._calls(self.company_b)
        self.assertFalse(
            self.env["retention.call"]
            .with_user(self.rita)
            .search([("partner_id", "=", zofia.id)])
        )
        with self.assertRaises(AccessError):
            zofia_call.with_user(self.rita).read(["outcome"])
        with self.assertRaises(AccessError):
            zofia_call.with_user(self.manager).read(["outcome"])
        # Rep B sees only the second shop's call on Zofia's tab.
        self.assertEqual(
            zofia.with_user(rep_b).with_company(self.company_b).retention_call_ids,
            zofia_call,
        )


@tagged("post_install", "-at_install")
class TestCallReport(CallPlanCase):
    def test_outcomes_per_month(self):
        # Four calls: Anna won back and Bartek "price" in May; Celina "price"
        # in June, Dorota's still open in June.
        self._two_runs()
        self._plan()
        may = date(2025, 5, 20)
        outcomes = {
            self.anna: ("won_back", may),
            self.bartek: ("price", may),
            self.celina: ("price", AS_OF),
        }
        for partner, (outcome, day) in outcomes.items():
            call = self._call_of(partner)
            call.activity_id.action_feedback()
            call.write({"outcome": outcome, "date": day})
        groups = (
            self.env["retention.call"]
            .with_user(self.manager)
            .read_group(
                [("company_id", "=", self.company.id)],
                ["__count"],
                ["date:month", "outcome"],
                lazy=False,
            )
        )
        counts = {(g["date:month"], g["outcome"]): g["__count"] for g in groups}
        self.assertEqual(
            counts,
            {
                ("May 2025", "won_back"): 1,
                ("May 2025", "price"): 1,
                ("June 2025", "price"): 1,
                ("June 2025", False): 1,
            },
        )
        # Per salesperson: all four are Rita's but Dorota's (Olek).
        by_user = self.env["retention.call"].read_group(
            [("company_id", "=", self.company.id)], ["__count"], ["user_id"], lazy=False
        )
        self.assertEqual(
            {g["user_id"][0]: g["__count"] for g in by_user},
            {self.rita.id: 3, self.olek.id: 1},
        )
