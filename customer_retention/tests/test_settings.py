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

    def test_settings_show_the_nightly_run(self):
        # The run's state lives in retention.run; Settings shows it as it did
        # from the company, to a Settings administrator without Sales rights.
        admin = self._user("settings_run_admin", "base.group_system")
        customer = self._customer("Settings Customer")
        self._order(customer, AS_OF - timedelta(days=10), 100)
        self.env["retention.run"].search(
            [("company_id", "=", self.company.id)]
        ).unlink()

        def shown():
            settings = self.env["res.config.settings"].with_user(admin).create({})
            return settings.read(
                [
                    "retention_last_run",
                    "retention_run_as_of",
                    "retention_run_phase",
                    "retention_run_written",
                    "retention_recompute_requested",
                    "retention_last_error",
                    "retention_prediction_summary",
                ]
            )[0]

        # No run yet.
        values = shown()
        self.assertFalse(values["retention_last_run"])
        self.assertFalse(values["retention_run_as_of"])
        self.assertIn("Not fitted yet", values["retention_prediction_summary"])
        # Asked for, then in progress (one step: the outlook's models).
        self.company._retention_request_recompute()
        self.assertTrue(shown()["retention_recompute_requested"])
        self.assertFalse(self.company._retention_run_step(0))
        values = shown()
        self.assertEqual(values["retention_run_as_of"], AS_OF)
        self.assertEqual(values["retention_run_phase"], "compute")
        # Ended: when, and how many customers it changed.
        self.assertTrue(self.company._retention_run_step(1000))
        values = shown()
        self.assertFalse(values["retention_run_as_of"])
        self.assertTrue(values["retention_last_run"])
        self.assertEqual(values["retention_run_written"], 1)
        # A failed attempt of the daily job.
        run = self.company._retention_run()
        run.write(run._attempt_values(run.last_run, ZeroDivisionError("bad data")))
        self.assertEqual(shown()["retention_last_error"], "ZeroDivisionError: bad data")
