# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.sms.tests.common import SMSCase

from ..wizard.retention_sms_wizard import sms_segments


@tagged("post_install", "-at_install")
class TestRetentionSms(SMSCase):
    """The win-back SMS wizard: who is texted, who is skipped and why."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.pl")
        cls.company.retention_sms_cap_days = 30
        cls.poland = cls.env.ref("base.pl")
        cls.ukraine = cls.env.ref("base.ua")
        cls.germany = cls.env.ref("base.de")
        cls.usa = cls.env.ref("base.us")
        cls.other_company = cls.env["res.company"].create({"name": "Other Shop", "country_id": cls.germany.id})
        cls.salesman = new_test_user(
            cls.env, login="retention_sms_salesman", groups="sales_team.group_sale_salesman",
            company_id=cls.company.id, company_ids=[(6, 0, cls.company.ids)],
        )
        cls.employee = new_test_user(
            cls.env, login="retention_sms_employee", groups="base.group_user",
            company_id=cls.company.id, company_ids=[(6, 0, cls.company.ids)],
        )

    @classmethod
    def _customer(cls, name, country=None, **values):
        return cls.env["res.partner"].create({"name": name, "country_id": country and country.id, **values})

    def _wizard(self, partners, user=None):
        env = self.env(user=user) if user else self.env
        return env["retention.sms.wizard"].with_context(
            active_model="res.partner", active_ids=partners.ids
        ).create({})

    def _run(self, partners, user=None):
        with self.mockSMSGateway():
            wizard = self._wizard(partners, user)
            campaign = wizard._queue()
        return wizard, campaign

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
            self.assertTrue(partner.message_ids.filtered(lambda m: m.message_type == "sms"))

    def test_mobile_preferred_over_phone(self):
        both = self._customer("Both", self.poland, phone="22 123 45 67", mobile="512 345 678")
        self._run(both)
        self.assertSMSOutgoing(both, "+48512345678")

    def test_normalisation_by_country(self):
        # National numbers read with the partner's country; no country: the company's (Poland).
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
            partners |= self._customer(f"Customer {index}", country, mobile=cases[index][1])
        wizard, campaign = self._run(partners)
        self.assertEqual(campaign.partner_ids, partners)
        for partner, (_country, _number, expected) in zip(partners, cases):
            self.assertSMSOutgoing(partner, expected)

    def test_skip_reasons(self):
        # One customer per reason, plus one to send: 1 sent, 7 skipped.
        ok = self._customer("Ok", self.poland, mobile="512 345 678")
        no_number = self._customer("No number", self.poland)
        invalid = self._customer("Invalid", self.poland, mobile="12")
        blacklisted = self._customer("Blacklisted", self.poland, mobile="600 100 200")
        self.env["phone.blacklist"].sudo().add("+48600100200")
        duplicate = self._customer("Duplicate", self.poland, phone="+48512345678")
        other = self._customer("Other company", self.poland, mobile="512 000 111", company_id=self.other_company.id)
        archived = self._customer("Archived", self.poland, mobile="512 000 222", active=False)
        recent = self._customer("Recent", self.poland, mobile="512 000 333")
        self.env["retention.sms.campaign"].create({"partner_ids": [(6, 0, recent.ids)]})
        selection = ok | no_number | invalid | blacklisted | duplicate | other | archived | recent

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
            self.assertEqual(wizard[fname.replace("_ids", "_count").replace("_partner", "")], 1, fname)
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
        first.date = fields.Datetime.now() - timedelta(days=31)
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
        wizard = self.env["retention.sms.wizard"].with_context(
            active_model="res.partner", active_ids=anna.ids, active_domain=[],
        ).create({})
        self.assertEqual(wizard.partner_ids, anna)
        action = self.env.ref("customer_retention.action_partner_retention_sms").with_user(self.salesman).with_context(
            active_model="res.partner", active_ids=anna.ids, active_domain=[]
        ).run()
        self.assertEqual(action["res_model"], "retention.sms.wizard")
        wizard = self.env["retention.sms.wizard"].with_context(action["context"]).create({})
        self.assertEqual(wizard.partner_ids, anna)

    def test_template_by_dominant_status_and_preview(self):
        lost_1 = self._customer("Lost One", self.poland, mobile="512 345 671")
        lost_2 = self._customer("Lost Two", self.poland, mobile="512 345 672")
        at_risk = self._customer("Marta", self.poland, mobile="512 345 673")
        (lost_1 | lost_2).write({"retention_status": "lost"})
        at_risk.write({"retention_status": "at_risk", "retention_days_since_last": 45})
        wizard = self._wizard(lost_1 | lost_2 | at_risk)
        self.assertEqual(wizard.template_id, self.env.ref("customer_retention.sms_template_retention_lost"))
        self.assertEqual(wizard.body, wizard.template_id.body)
        self.assertEqual(wizard.preview_partner_id, lost_1)
        self.assertIn("Lost One", wizard.preview)

        wizard = self._wizard(at_risk)
        self.assertEqual(wizard.template_id, self.env.ref("customer_retention.sms_template_retention_at_risk"))
        self.assertIn("Marta", wizard.preview)
        self.assertIn("45 days", wizard.preview)
        self.assertEqual(wizard.encoding, "gsm7")
        self.assertEqual(wizard.segment_count, 1)

        # an edited body is what gets queued
        wizard.body = "Cześć {{ object.name }}, tęsknimy!"
        self.assertEqual(wizard.preview, "Cześć Marta, tęsknimy!")
        self.assertEqual(wizard.encoding, "unicode")
        with self.mockSMSGateway():
            wizard._queue()
        self.assertSMSOutgoing(at_risk, "+48512345673", content="Cześć Marta, tęsknimy!")

    def test_segments(self):
        # GSM-7: 160 in one SMS, then 153 per part; Unicode: 70, then 67.
        self.assertEqual(sms_segments(""), ("gsm7", 0))
        self.assertEqual(sms_segments("a" * 160), ("gsm7", 1))
        self.assertEqual(sms_segments("a" * 161), ("gsm7", 2))
        self.assertEqual(sms_segments("a" * 306), ("gsm7", 2))
        self.assertEqual(sms_segments("a" * 307), ("gsm7", 3))
        self.assertEqual(sms_segments("€" * 80), ("gsm7", 1))  # extension: 2 places each
        self.assertEqual(sms_segments("€" * 81), ("gsm7", 2))
        self.assertEqual(sms_segments("ą" * 70), ("unicode", 1))
        self.assertEqual(sms_segments("ą" * 71), ("unicode", 2))
        self.assertEqual(sms_segments("Привіт" + "a" * 128), ("unicode", 2))  # 134 = 2 x 67
        self.assertEqual(sms_segments("Привет" + "a" * 129), ("unicode", 3))  # 135 > 134

    def test_form_flow(self):
        # The dialog as the web client drives it: counts, then an edited body
        # re-renders the preview and its segment count before queueing.
        anna = self._customer("Anna", self.poland, mobile="512 345 678")
        nobody = self._customer("Nobody", self.poland)
        action = self.env["retention.sms.wizard"].action_open((anna | nobody).ids)
        # a default_partner_ids in the dialog's context must not make the
        # selected customers recipients of each other's chatter notes
        context = dict(action["context"], default_partner_ids=(anna | nobody).ids)
        form = Form(self.env["retention.sms.wizard"].with_context(context))
        self.assertEqual(form.send_count, 1)
        self.assertEqual(form.skip_no_number_count, 1)
        form.body = "Witaj {{ object.name }}! " + "ż" * 60
        self.assertEqual(form.preview, "Witaj Anna! " + "ż" * 60)
        self.assertEqual(form.segment_count, 2)  # 72 Unicode characters > 70
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
        action = self.env["retention.sms.wizard"].with_user(self.salesman).action_open(anna.ids)
        self.assertEqual(action["res_model"], "retention.sms.wizard")
        wizard, campaign = self._run(anna, user=self.salesman)
        self.assertSMSOutgoing(anna, "+48512345678")
        # an edited body, rendered with the salesperson's rights
        wizard = self._wizard(anna, user=self.salesman)
        self.env["retention.sms.campaign"].search([]).date = fields.Datetime.now() - timedelta(days=60)
        wizard.body = "Hello {{ object.name }}"
        with self.mockSMSGateway():
            wizard._queue()
        self.assertSMSOutgoing(anna, "+48512345678", content="Hello Anna")
        self.assertEqual(campaign.user_id, self.salesman)
        self.assertEqual(campaign.with_user(self.salesman).sent_count, 1)

    def test_user_without_sales_rights(self):
        anna = self._customer("Anna", self.poland, mobile="512 345 678")
        with self.assertRaises(AccessError):
            self.env["retention.sms.wizard"].with_user(self.employee).action_open(anna.ids)
        with self.assertRaises(AccessError):
            self._wizard(anna, user=self.employee)
        with self.assertRaises(AccessError):
            self.env["retention.sms.campaign"].with_user(self.employee).search([])

    def test_campaign_multi_company_rule(self):
        campaign = self.env["retention.sms.campaign"].create({"company_id": self.other_company.id})
        self.assertFalse(self.env["retention.sms.campaign"].with_user(self.salesman).search([("id", "=", campaign.id)]))
