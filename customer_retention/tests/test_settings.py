# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import AS_OF, RetentionCase


@tagged("post_install", "-at_install")
class TestSettings(RetentionCase):
    def test_defaults(self):
        company = self.company
        self.assertEqual(
            (
                company.retention_lookback_days,
                company.retention_new_days,
                company.retention_at_risk_factor,
                company.retention_min_at_risk_days,
                company.retention_dormant_days,
                company.retention_lost_days,
                company.retention_trend_period,
                company.retention_group_field,
                company.retention_frequent_visits,
                company.retention_source,
            ),
            (730, 90, 1.5, 30, 180, 365, "quarter", "country_id", 4, "sale"),
        )

    def test_zero_lookback_survives_the_settings_form(self):
        # config_parameter fields would store 0 as "unset" and read 730 back.
        with Form(self.env["res.config.settings"]) as settings:
            settings.retention_lookback_days = 0
            settings.retention_lost_days = 400
        settings.save().execute()
        self.assertEqual(self.company.retention_lookback_days, 0)
        self.assertEqual(self.company.retention_lost_days, 400)
        self.assertEqual(
            self.env["res.config.settings"].create({}).retention_lookback_days, 0
        )

    def test_nonsense_is_rejected_with_a_clear_message(self):
        cases = [
            ({"retention_lost_days": -5}, "lost"),
            ({"retention_at_risk_factor": 0.5}, "factor"),
            ({"retention_lookback_days": -1}, "look-back"),
            ({"retention_new_days": 0}, "new"),
            ({"retention_frequent_visits": 0}, "visit"),
            ({"retention_dormant_days": 500, "retention_lost_days": 365}, "lost"),
            (
                {"retention_min_at_risk_days": 200, "retention_dormant_days": 180},
                "dormant",
            ),
        ]
        for values, word in cases:
            with self.subTest(values=values):
                with self.assertRaises(ValidationError) as caught:
                    with self.env.cr.savepoint():
                        self.company.write(values)
                message = str(caught.exception).lower()
                self.assertIn(word, message)
                self.assertIn(self.company.name.lower(), message)
        # Nothing was half-written.
        self.assertEqual(self.company.retention_lost_days, 365)

    def test_huge_values_are_refused_before_they_break_a_recompute(self):
        # A look-back of 2**31 - 1 days once overflowed every later recompute;
        # a cap of a billion days overflowed the SMS wizard's date arithmetic.
        cases = [
            (
                {"retention_lookback_days": 2**31 - 1},
                "look-back window cannot be longer than 36500 days",
            ),
            ({"retention_lost_days": 36501, "retention_dormant_days": 200}, "36500"),
            (
                {"retention_at_risk_factor": 1e300},
                "at-risk factor cannot be more than 100",
            ),
            ({"retention_frequent_visits": 366}, "365"),
            ({"retention_sms_cap_days": 10**9}, "3650"),
            ({"retention_sms_winback_days": 3651}, "3650"),
            ({"retention_sms_max_batch": 1_000_001}, "1000000"),
        ]
        for values, words in cases:
            with self.subTest(values=values):
                with (
                    self.assertRaisesRegex(ValidationError, words),
                    self.env.cr.savepoint(),
                ):
                    with Form(self.env["res.config.settings"]) as settings:
                        for name, value in values.items():
                            setattr(settings, name, value)
                    settings.save().execute()
        # The largest accepted values still compute.
        self.company.write(
            {
                "retention_lookback_days": 36500,
                "retention_lost_days": 36500,
                "retention_dormant_days": 36500,
                "retention_sms_cap_days": 3650,
            }
        )
        customer = self._customer("Old Friend")
        self._order(customer, AS_OF - timedelta(days=20000), 50)
        self.recompute()
        self.assertRetention(customer, status="active", days_since_last=20000)

    def test_settings_form_rejects_nonsense(self):
        with self.assertRaises(ValidationError):
            with self.env.cr.savepoint():
                self.env["res.config.settings"].create(
                    {"retention_at_risk_factor": 0.9}
                ).execute()
        self.assertEqual(self.company.retention_at_risk_factor, 1.5)

    def test_messages_in_the_users_language(self):
        self.env["res.lang"]._activate_lang("pl_PL")
        self.env["ir.module.module"].search(
            [("name", "=", "customer_retention")]
        )._update_translations(["pl_PL"])
        with self.assertRaises(ValidationError) as caught:
            with self.env.cr.savepoint():
                self.company.with_context(lang="pl_PL").write(
                    {"retention_lost_days": -5}
                )
        self.assertIn("Ustawienia", str(caught.exception))

    def test_settings_change_the_outcome(self):
        # One visit 100 days ago: at risk only once 100 > dormant days.
        customer = self._customer("Quiet")
        self._order(customer, AS_OF - timedelta(days=100), 50)
        self.recompute()
        self.assertRetention(customer, status="active")
        self.company.retention_dormant_days = 90
        self.recompute()
        self.assertRetention(customer, status="at_risk", alert="at_risk")

    def test_sms_cap_in_settings(self):
        with Form(self.env["res.config.settings"]) as settings:
            settings.retention_sms_cap_days = 0
        settings.save().execute()
        self.assertEqual(self.company.retention_sms_cap_days, 0)
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.company.retention_sms_cap_days = -1

    def test_sms_guardrails_in_settings(self):
        # 0 is meaningful for each (no control group, no limit, no quiet
        # hours) and must survive the settings form.
        with Form(self.env["res.config.settings"]) as settings:
            settings.retention_sms_holdout_percent = 0
            settings.retention_sms_max_batch = 0
            settings.retention_sms_quiet_start = 0
            settings.retention_sms_quiet_end = 0
            settings.retention_sms_winback_days = 45
        settings.save().execute()
        self.assertEqual(
            (
                self.company.retention_sms_holdout_percent,
                self.company.retention_sms_max_batch,
                self.company.retention_sms_quiet_start,
                self.company.retention_sms_quiet_end,
                self.company.retention_sms_winback_days,
            ),
            (0, 0, 0, 0, 45),
        )
        with (
            self.assertRaisesRegex(ValidationError, "Win-back SMS settings of"),
            self.env.cr.savepoint(),
        ):
            with Form(self.env["res.config.settings"]) as settings:
                settings.retention_sms_holdout_percent = 80
            settings.save().execute()
        self.assertEqual(self.company.retention_sms_holdout_percent, 0)
