# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime, timedelta
from unittest.mock import patch

from lxml import etree

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from .common import RetentionSmsCase


@tagged("post_install", "-at_install")
class TestRetentionSms(RetentionSmsCase):
    """The win-back SMS wizard: who is texted, who is skipped and why."""

    def test_queue_outgoing_e164(self):
        # Two Polish customers with national numbers: both queued in E.164,
        # state outgoing (the SMS cron sends them), one chatter note each.
        anna = self._customer("Anna", self.poland, mobile="512 345 678")
        piotr = self._customer("Piotr", self.poland, phone="+48 601-234-567")
        wizard = self._wizard(anna | piotr)
        self.assertEqual(wizard.send_count, 2)
        self.assertEqual(wizard.skip_count, 0)
        with self.mockSMSGateway():
            campaign = wizard._queue()
        self.assertSMSOutgoing(anna, "+48512345678", content="Anna")
        self.assertSMSOutgoing(piotr, "+48601234567", content="Piotr")
        self.assertEqual(len(self._new_sms), 2)
        self.assertFalse(self._sms, "nothing is sent immediately")
        self.assertEqual(campaign.partner_ids, anna | piotr)
        self.assertEqual(campaign.sent_count, 2)
        self.assertEqual(campaign.company_id, self.company)
        self.assertEqual(campaign.user_id, self.env.user)
        for partner in anna | piotr:
            self.assertTrue(
                partner.message_ids.filtered(lambda m: m.message_type == "sms")
            )

    def test_mobile_preferred_over_phone(self):
        both = self._customer(
            "Both", self.poland, phone="22 123 45 67", mobile="512 345 678"
        )
        self._run(both)
        self.assertSMSOutgoing(both, "+48512345678")

    def test_normalisation_by_country(self):
        # National numbers read with the partner's country; no country: the
        # company's (Poland).
        cases = [
            (self.poland, "512 345 678", "+48512345678"),
            (self.ukraine, "050 123 4567", "+380501234567"),
            (self.germany, "0151 23456789", "+4915123456789"),
            (self.usa, "(650) 253-0000", "+16502530000"),
            (False, "601 234 567", "+48601234567"),
            (self.germany, "+48 512 345 679", "+48512345679"),
        ]
        partners = self.env["res.partner"]
        for index, (country, _number, _e164) in enumerate(cases):
            partners |= self._customer(
                f"Customer {index}", country, mobile=cases[index][1]
            )
        wizard, campaign = self._run(partners)
        self.assertEqual(campaign.partner_ids, partners)
        for partner, (_country, _number, expected) in zip(
            partners, cases, strict=False
        ):
            self.assertSMSOutgoing(partner, expected)

    def test_skip_reasons(self):
        # One customer per reason, plus one to send: 1 sent, 7 skipped.
        ok = self._customer("Ok", self.poland, mobile="512 345 678")
        no_number = self._customer("No number", self.poland)
        invalid = self._customer("Invalid", self.poland, mobile="12")
        blacklisted = self._customer("Blacklisted", self.poland, mobile="600 100 200")
        self.env["phone.blacklist"].sudo().add("+48600100200")
        duplicate = self._customer("Duplicate", self.poland, phone="+48512345678")
        other = self._customer(
            "Other company",
            self.poland,
            mobile="512 000 111",
            company_id=self.other_company.id,
        )
        archived = self._customer(
            "Archived", self.poland, mobile="512 000 222", active=False
        )
        recent = self._customer("Recent", self.poland, mobile="512 000 333")
        self.env["retention.sms.campaign"].create(
            {
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "partner_id": recent.id,
                            "commercial_partner_id": recent.id,
                            "kind": "contacted",
                        },
                    )
                ]
            }
        )
        selection = (
            ok
            | no_number
            | invalid
            | blacklisted
            | duplicate
            | other
            | archived
            | recent
        )

        wizard = self._wizard(selection)
        expected = {
            "send_partner_ids": ok,
            "skip_no_number_ids": no_number,
            "skip_invalid_ids": invalid,
            "skip_blacklist_ids": blacklisted,
            "skip_duplicate_ids": duplicate,
            "skip_company_ids": other,
            "skip_archived_ids": archived,
            "skip_recent_ids": recent,
        }
        for fname, partners in expected.items():
            self.assertEqual(wizard[fname], partners, fname)
            self.assertEqual(
                wizard[fname.replace("_ids", "_count").replace("_partner", "")],
                1,
                fname,
            )
        self.assertEqual(wizard.skip_count, 7)
        action = wizard.with_context(reason="invalid").action_open_skipped()
        self.assertEqual(action["res_model"], "res.partner")
        self.assertEqual(action["domain"], [("id", "in", invalid.ids)])
        action = wizard.action_open_skipped()
        self.assertEqual(set(action["domain"][0][2]), set((selection - ok).ids))

        with self.mockSMSGateway():
            campaign = wizard._queue()
        self.assertEqual(len(self._new_sms), 1, "only the valid customer gets an SMS")
        self.assertSMSOutgoing(ok, "+48512345678")
        self.assertEqual(campaign.sent_count, 1)
        self.assertEqual(campaign.skipped_count, 7)
        self.assertEqual(campaign.skipped_partner_ids, selection - ok)
        self.assertEqual(campaign.skipped_blacklist_count, 1)

    def test_frequency_cap_two_runs(self):
        anna = self._customer("Anna", self.poland, mobile="512 345 678")
        first_wizard, first = self._run(anna)
        self.assertEqual(first.sent_count, 1)
        second_wizard, second = self._run(anna)
        self.assertEqual(second_wizard.send_count, 0)
        self.assertEqual(second_wizard.skip_recent_ids, anna)
        self.assertFalse(self._new_sms, "the second run queues nothing")
        self.assertEqual(second.skipped_recent_count, 1)

        # 31 days later the 30-day cap has passed
        (first | second).date = fields.Datetime.now() - timedelta(days=31)
        third_wizard, third = self._run(anna)
        self.assertEqual(third.sent_count, 1)

        # a campaign of another company does not count
        self.env["retention.sms.campaign"].search([]).company_id = self.other_company
        self.assertEqual(self._wizard(anna).send_count, 1)

        # cap 0 disables it
        self.env["retention.sms.campaign"].search([]).company_id = self.company
        self.company.retention_sms_cap_days = 0
        self.assertEqual(self._wizard(anna).send_count, 1)

    def test_only_active_ids(self):
        # The search domain of the list is ignored: only the ticked records count.
        anna = self._customer("Anna", self.poland, mobile="512 345 678")
        self._customer("Not ticked", self.poland, mobile="512 345 679")
        wizard = (
            self.env["retention.sms.wizard"]
            .with_context(
                active_model="res.partner",
                active_ids=anna.ids,
                active_domain=[],
            )
            .create({})
        )
        self.assertEqual(wizard.partner_ids, anna)
        action = (
            self.env.ref("customer_retention.action_partner_retention_sms")
            .with_user(self.salesman)
            .with_context(
                active_model="res.partner", active_ids=anna.ids, active_domain=[]
            )
            .run()
        )
        self.assertEqual(action["res_model"], "retention.sms.wizard")
        wizard = (
            self.env["retention.sms.wizard"]
            .with_context(**action["context"])
            .create({})
        )
        self.assertEqual(wizard.partner_ids, anna)

    def test_template_by_dominant_status_and_preview(self):
        lost_1 = self._customer("Lost One", self.poland, mobile="512 345 671")
        lost_2 = self._customer("Lost Two", self.poland, mobile="512 345 672")
        at_risk = self._customer("Marta", self.poland, mobile="512 345 673")
        (lost_1 | lost_2).write({"retention_status": "lost"})
        at_risk.write({"retention_status": "at_risk", "retention_days_since_last": 45})
        wizard = self._wizard(lost_1 | lost_2 | at_risk)
        self.assertEqual(
            wizard.template_id,
            self.env.ref("customer_retention.sms_template_retention_lost"),
        )
        self.assertEqual(wizard.body, wizard.template_id.body)
        self.assertEqual(wizard.preview_partner_id, lost_1)
        self.assertIn("Lost One", wizard.preview)

        wizard = self._wizard(at_risk)
        self.assertEqual(
            wizard.template_id,
            self.env.ref("customer_retention.sms_template_retention_at_risk"),
        )
        self.assertIn("Marta", wizard.preview)
        self.assertIn("45 days", wizard.preview)

        # an edited body is what gets queued
        wizard.body = "Cześć {{ object.name }}, tęsknimy!"
        self.assertEqual(wizard.preview, "Cześć Marta, tęsknimy!")
        with self.mockSMSGateway():
            wizard._queue()
        self.assertSMSOutgoing(
            at_risk, "+48512345673", content="Cześć Marta, tęsknimy!"
        )

    def test_form_flow(self):
        # The dialog as the web client drives it: counts, then an edited body
        # re-renders the preview and its segment count before queueing.
        anna = self._customer("Anna", self.poland, mobile="512 345 678")
        nobody = self._customer("Nobody", self.poland)
        action = self.env["retention.sms.wizard"].action_open((anna | nobody).ids)
        # a default_partner_ids in the dialog's context must not make the
        # selected customers recipients of each other's chatter notes
        context = dict(action["context"], default_partner_ids=(anna | nobody).ids)
        form = Form(self.env["retention.sms.wizard"].with_context(**context))
        self.assertEqual(form.send_count, 1)
        self.assertEqual(form.skip_no_number_count, 1)
        form.body = "Witaj {{ object.name }}! " + "ż" * 60
        self.assertEqual(form.preview, "Witaj Anna! " + "ż" * 60)
        wizard = form.save()
        with self.mockSMSGateway():
            result = wizard.action_queue()
        self.assertEqual(result["tag"], "display_notification")
        self.assertSMSOutgoing(anna, "+48512345678", content="Witaj Anna!")
        note = anna.message_ids.filtered(lambda message: message.message_type == "sms")
        self.assertEqual(len(note), 1)
        self.assertFalse(note.partner_ids)

    def test_salesman_can_run(self):
        anna = self._customer("Anna", self.poland, mobile="512 345 678")
        action = (
            self.env["retention.sms.wizard"]
            .with_user(self.salesman)
            .action_open(anna.ids)
        )
        self.assertEqual(action["res_model"], "retention.sms.wizard")
        wizard, campaign = self._run(anna, user=self.salesman)
        self.assertSMSOutgoing(anna, "+48512345678")
        # an edited body, rendered with the salesperson's rights
        wizard = self._wizard(anna, user=self.salesman)
        self.env["retention.sms.campaign"].search([]).date = (
            fields.Datetime.now() - timedelta(days=60)
        )
        wizard.body = "Hello {{ object.name }}"
        with self.mockSMSGateway():
            wizard._queue()
        self.assertSMSOutgoing(anna, "+48512345678", content="Hello Anna")
        self.assertEqual(campaign.user_id, self.salesman)
        self.assertEqual(campaign.with_user(self.salesman).sent_count, 1)

    def test_user_without_sales_rights(self):
        anna = self._customer("Anna", self.poland, mobile="512 345 678")
        with self.assertRaises(AccessError):
            self.env["retention.sms.wizard"].with_user(self.employee).action_open(
                anna.ids
            )
        with self.assertRaises(AccessError):
            self._wizard(anna, user=self.employee)
        with self.assertRaises(AccessError):
            self.env["retention.sms.campaign"].with_user(self.employee).search([])

    def test_campaign_multi_company_rule(self):
        campaign = self.env["retention.sms.campaign"].create(
            {"company_id": self.other_company.id}
        )
        self.assertFalse(
            self.env["retention.sms.campaign"]
            .with_user(self.salesman)
            .search([("id", "=", campaign.id)])
        )

    # ------------------------------------------------------------
    # Guardrails: control group, batch size, quiet hours, duplicates
    # ------------------------------------------------------------

    def test_holdout_control_group(self):
        # 20 customers who could be texted, 10%: 2 kept out, 18 texted.
        self.company.retention_sms_holdout_percent = 10
        customers = self._polish_customers(20)
        wizard = self._wizard(customers)
        self.assertEqual((wizard.send_count, wizard.holdout_count), (18, 2))
        holdout = wizard.holdout_partner_ids
        with self.mockSMSGateway():
            campaign = wizard._queue()
        self.assertEqual(len(self._new_sms), 18)
        self.assertEqual(
            set(self._new_sms.partner_id.ids), set((customers - holdout).ids)
        )
        self.assertEqual(
            campaign.holdout_partner_ids,
            holdout,
            "the preview's control group is the one recorded",
        )
        self.assertEqual(
            (campaign.sent_count, campaign.holdout_count, campaign.holdout_percent),
            (18, 2, 10),
        )
        self.assertEqual(campaign.partner_ids, customers - holdout)
        self.assertFalse(
            holdout.message_ids.filtered(lambda m: m.message_type == "sms"),
            "the control group gets nothing",
        )

        # Reproducible: a wizard given the recorded seed on the same
        # customers, ticked in the reverse order, draws the same group; another
        # seed draws another group of the same size.
        self.company.retention_sms_cap_days = 0
        again = (
            self.env["retention.sms.wizard"]
            .with_context(retention_sms_partner_ids=customers.ids[::-1])
            .create({"holdout_seed": campaign.holdout_seed})
        )
        self.assertEqual(again.holdout_partner_ids, holdout)
        other = (
            self.env["retention.sms.wizard"]
            .with_context(retention_sms_partner_ids=customers.ids)
            .create({"holdout_seed": campaign.holdout_seed + 1})
        )
        self.assertEqual(len(other.holdout_partner_ids), 2)
        self.assertNotEqual(other.holdout_partner_ids, holdout)

        # The control group counts for the frequency cap: a second run on
        # the same selection queues nothing.
        self.company.retention_sms_cap_days = 30
        second_wizard, second = self._run(customers)
        self.assertEqual(second_wizard.send_count + second_wizard.holdout_count, 0)
        self.assertEqual(second.skipped_recent_count, 20)
        self.assertFalse(self._new_sms)

    def test_max_batch(self):
        self.company.retention_sms_max_batch = 2
        customers = self._polish_customers(3)
        wizard = self._wizard(customers)
        self.assertTrue(wizard.over_limit)
        with (
            self.mockSMSGateway(),
            self.assertRaisesRegex(UserError, "3 customers, more than the 2 allowed"),
        ):
            wizard._queue()
        self.assertFalse(self._new_sms)
        self.assertFalse(self.env["retention.sms.campaign"].search([]))
        self.assertFalse(self._wizard(customers[:2]).over_limit)
        self.company.retention_sms_max_batch = 0  # no limit
        self.assertFalse(self._wizard(customers).over_limit)

    def test_quiet_hours_hold_then_release(self):
        # Warsaw, quiet from 21:00 to 09:00. Queued at 22:30 local on a
        # Monday in March (UTC+1): held until 09:00 local = 08:00 UTC.
        self.company.partner_id.tz = "Europe/Warsaw"
        self.company.write(
            {"retention_sms_quiet_start": 21.0, "retention_sms_quiet_end": 9.0}
        )
        customers = self._polish_customers(3)
        Campaign = self.env["retention.sms.campaign"]
        with self.mock_datetime_and_now(datetime(2026, 3, 2, 21, 30)):
            wizard = self._wizard(customers)
            self.assertEqual(wizard.quiet_until, datetime(2026, 3, 3, 8, 0))
            with self.mockSMSGateway():
                campaign = wizard._queue()
                self.assertFalse(
                    self._new_sms, "nothing enters the queue during the quiet hours"
                )
        self.assertEqual(campaign.state, "held")
        self.assertEqual(campaign.release_date, datetime(2026, 3, 3, 8, 0))
        self.assertEqual(set(campaign.line_ids.mapped("sms_state")), {"held"})
        release = self.env.ref("customer_retention.ir_cron_retention_sms_release")
        triggers = (
            self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", release.id)])
        )
        self.assertIn(
            datetime(2026, 3, 3, 8, 0),
            triggers.mapped("call_at"),
            "the release cron runs at 09:00",
        )

        # 08:59 local: still quiet, the cron leaves it alone
        with self._sms_at(datetime(2026, 3, 3, 7, 59)):
            Campaign._cron_release_held()
            self.assertFalse(self._new_sms)
        self.assertEqual(campaign.state, "held")

        # 09:00 local: released in batches of 2 (the cron commits between
        # batches); a second call only takes what is left, never twice.
        with self._sms_at(datetime(2026, 3, 3, 8, 0)):
            Campaign._cron_release_held(batch_size=2)
            self.assertEqual(len(self._new_sms), 2)
            self.assertEqual(campaign.state, "held")
        with self._sms_at(datetime(2026, 3, 3, 8, 1)):
            Campaign._cron_release_held(batch_size=2)
            self.assertEqual(len(self._new_sms), 1)
            Campaign._cron_release_held(batch_size=2)
            self.assertEqual(len(self._new_sms), 1, "a third call finds nothing held")
        self.assertEqual(
            self.env["sms.sms"].search_count([("partner_id", "in", customers.ids)]), 3
        )
        self.assertEqual(campaign.state, "queued")
        self.assertEqual(campaign.queued_date, datetime(2026, 3, 3, 8, 1))
        self.assertEqual(set(campaign.line_ids.mapped("sms_state")), {"queued"})
        self.assertEqual(
            sorted(
                self.env["sms.sms"]
                .search([("partner_id", "in", customers.ids)])
                .mapped("number")
            ),
            sorted(customer.mobile.replace(" ", "") for customer in customers),
        )

    def test_outside_quiet_hours_queued_at_once(self):
        self.company.partner_id.tz = "Europe/Warsaw"
        self.company.write(
            {"retention_sms_quiet_start": 21.0, "retention_sms_quiet_end": 9.0}
        )
        customer = self._polish_customers(1)
        with self.mock_datetime_and_now(datetime(2026, 3, 2, 8, 0)):  # 09:00 in Warsaw
            wizard, campaign = self._run(customer)
            self.assertFalse(wizard.quiet_until)
        self.assertEqual(campaign.state, "queued")
        self.assertEqual(campaign.queued_date, datetime(2026, 3, 2, 8, 0))
        self.assertEqual(len(self._new_sms), 1)

    def test_interrupted_run_leaves_nothing(self):
        # The gateway's queueing fails after the first SMS rows exist (a
        # crash, a timeout): the run is one transaction, so nothing stays,
        # and the rerun queues each customer exactly once.
        customers = self._polish_customers(3)
        wizard = self._wizard(customers)
        origin = type(self.env["res.partner"])._message_sms_schedule_mass

        def crash(records, *args, **kwargs):
            origin(records, *args, **kwargs)
            raise OSError("connection lost")

        with (
            self.mockSMSGateway(),
            patch.object(
                type(self.env["res.partner"]), "_message_sms_schedule_mass", crash
            ),
        ):
            with self.assertRaises(OSError), self.env.cr.savepoint():
                wizard._queue()
        self.env.invalidate_all()
        self.assertFalse(
            self.env["sms.sms"].search([("partner_id", "in", customers.ids)])
        )
        self.assertFalse(self.env["retention.sms.campaign"].search([]))
        self.assertEqual(wizard.state, "draft")
        with self.mockSMSGateway():
            campaign = wizard._queue()
        self.assertEqual(
            self.env["sms.sms"].search_count([("partner_id", "in", customers.ids)]), 3
        )
        self.assertEqual(campaign.sent_count, 3)

    def test_same_wizard_twice(self):
        # A double click on Queue SMS (even with the cap off) queues once.
        self.company.retention_sms_cap_days = 0
        customer = self._polish_customers(1)
        wizard = self._wizard(customer)
        with self.mockSMSGateway():
            wizard._queue()
            with self.assertRaisesRegex(UserError, "already been queued"):
                wizard._queue()
        self.assertEqual(
            self.env["sms.sms"].search_count([("partner_id", "=", customer.id)]), 1
        )

    def test_campaign_settings_validation(self):
        with self.assertRaisesRegex(ValidationError, "control group must be between"):
            self.company.retention_sms_holdout_percent = 60
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self.company.retention_sms_max_batch = -1
        with self.assertRaisesRegex(ValidationError, "between 00:00 and 24:00"):
            self.company.retention_sms_quiet_start = 25
        with self.assertRaisesRegex(ValidationError, "at least 1 day"):
            self.company.retention_sms_winback_days = 0

    # ------------------------------------------------------------
    # Win-back measurement
    # ------------------------------------------------------------

    def test_winback_figures(self):
        # 4 customers, half kept as the control group: 2 texted, 2 not.
        self.company.retention_sms_holdout_percent = 50
        garage = self.env["res.partner"].create(
            {"name": "Garage Ltd", "is_company": True}
        )
        contact = self._customer(
            "Jan (Garage)", self.poland, mobile="512 100 001", parent_id=garage.id
        )
        others = self._polish_customers(3, prefix="Client")
        sent_at = datetime(2026, 3, 2, 10, 0)
        with self.mock_datetime_and_now(sent_at):
            _wizard, campaign = self._run(contact | others)
        texted, control = campaign.partner_ids, campaign.holdout_partner_ids
        self.assertEqual((len(texted), len(control)), (2, 2))
        first, second = texted
        back, away = control

        # Texted: the first comes back on day 3 for 100 and day 20 for 50
        # (an order the day before the SMS does not count); the second only
        # has a cancelled order and one on day 31, after the window.
        # Control group: one comes back on day 10 for 80.
        self._sale(first.commercial_partner_id, sent_at - timedelta(days=1), 500)
        self._sale(first.commercial_partner_id, sent_at + timedelta(days=3), 100)
        self._sale(first.commercial_partner_id, sent_at + timedelta(days=20), 50)
        self._sale(
            second.commercial_partner_id,
            sent_at + timedelta(days=5),
            70,
            state="cancel",
        )
        self._sale(second.commercial_partner_id, sent_at + timedelta(days=31), 90)
        self._sale(back, sent_at + timedelta(days=10), 80)

        # Day 15: the window is open, the figures are interim.
        campaign._measure(now=sent_at + timedelta(days=15))
        self.assertEqual(campaign.state, "queued")
        self.assertEqual((campaign.won_count, campaign.won_revenue), (1, 100))

        # Day 40, the daily cron: final over the 30 days.
        with self.mock_datetime_and_now(sent_at + timedelta(days=40)):
            self.env["retention.sms.campaign"]._cron_measure()
        self.assertEqual(campaign.state, "measured")
        self.assertEqual(campaign.measure_end, datetime(2026, 4, 1, 10, 0))
        self.assertEqual(
            (campaign.won_count, campaign.winback_rate, campaign.won_revenue),
            (1, 50.0, 150.0),
        )
        self.assertEqual(
            (
                campaign.holdout_won_count,
                campaign.holdout_rate,
                campaign.holdout_revenue,
            ),
            (1, 50.0, 80.0),
        )
        self.assertEqual(campaign.uplift, 0.0)
        self.assertEqual(campaign.won_partner_ids, first)
        line = campaign.line_ids.filtered(lambda row: row.partner_id == first)
        self.assertEqual(
            (line.won_back, line.won_date, line.revenue),
            (True, date(2026, 3, 5), 150.0),
        )
        self.assertFalse(
            campaign.line_ids.filtered(lambda row: row.partner_id == away).won_back
        )

        # Findable from the partner list, as a salesperson: the search
        # filters "Texted (Win-back SMS)" and "Won Back by SMS" as the web
        # client gets them from the view and applies them, and the button.
        partners = self.env["res.partner"].with_user(self.salesman)
        search_view = self.env.ref(
            "customer_retention.view_res_partner_filter_inherit_customer_retention"
        )
        arch = etree.fromstring(
            partners.get_views([(search_view.id, "search")])["views"]["search"]["arch"]
        )
        selection = [
            (
                "id",
                "in",
                (contact | others).commercial_partner_id.ids + (contact | others).ids,
            )
        ]

        def apply_filter(name):
            (node,) = arch.xpath(f"//filter[@name='{name}']")
            return partners.search(
                expression.AND([selection, safe_eval(node.get("domain"))])
            )

        self.assertEqual(apply_filter("retention_sms_won_back"), first)
        self.assertEqual(apply_filter("retention_sms_texted"), texted)
        self.assertEqual(
            campaign.action_open_won()["domain"], [("id", "in", first.ids)]
        )

    def test_winback_contact_of_company(self):
        # The texted contact's company orders: the contact is won back.
        garage = self.env["res.partner"].create(
            {"name": "Garage Ltd", "is_company": True}
        )
        contact = self._customer(
            "Jan (Garage)", self.poland, mobile="512 100 001", parent_id=garage.id
        )
        sent_at = datetime(2026, 3, 2, 10, 0)
        with self.mock_datetime_and_now(sent_at):
            _wizard, campaign = self._run(contact)
        self._sale(garage, sent_at + timedelta(days=2), 120)
        campaign._measure(now=sent_at + timedelta(days=30))
        self.assertEqual(campaign.state, "measured")
        self.assertEqual(
            (campaign.won_count, campaign.winback_rate, campaign.won_revenue),
            (1, 100.0, 120.0),
        )
        self.assertEqual(campaign.holdout_rate, 0.0)

    def test_campaign_line_multi_company_rule(self):
        customer = self._polish_customers(1)
        campaign = self.env["retention.sms.campaign"].create(
            {
                "company_id": self.other_company.id,
                "line_ids": [
                    (
                        0,
                        0,
                        {
                            "partner_id": customer.id,
                            "commercial_partner_id": customer.id,
                            "kind": "contacted",
                        },
                    )
                ],
            }
        )
        Line = self.env["retention.sms.campaign.line"].with_user(self.salesman)
        self.assertFalse(Line.search([("campaign_id", "=", campaign.id)]))
