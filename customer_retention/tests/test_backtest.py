# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The back-test and the calibrated thresholds in a real database.

Ten customers; the flags are taken as of the cut, AS_OF - 90 days
(2025-04-01), and compared with who ordered in (cut, AS_OF]. Days below are
counted back from the cut. A customer of cadence 40 orders 3 times, one of
cadence 300 twice; one who stays orders again 30 days before AS_OF.

    customer  days since  cadence  churned   threshold (1.5 x cadence,
                the last                      min 30, dormant 180)
       1          12         40      no         60
       2          30         40      no         60
       3          50         40      yes        60
       4          70         40      no         60  at risk
       5          70        300      yes       180
       6         100        300      no        180
       7         120         40      yes        60  at risk
       8         200        300      yes       180  at risk
       9         400        300      yes       180  lost (> 365)
      10         150        300      no        180

Nobody is new: every first order is more than 90 days before the cut.
"""

import sys
from datetime import timedelta
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..models.retention_backtest import RetentionBacktest
from .common import AS_OF, RetentionCase

CUT = AS_OF - timedelta(days=90)
ENGINE_BACKTEST = "odoo.addons.customer_retention.engine.backtest"
TEN = [
    # (customer, days since the last order at the cut, cadence, churned)
    (1, 12, 40, False),
    (2, 30, 40, False),
    (3, 50, 40, True),
    (4, 70, 40, False),
    (5, 70, 300, True),
    (6, 100, 300, False),
    (7, 120, 40, True),
    (8, 200, 300, True),
    (9, 400, 300, True),
    (10, 150, 300, False),
]


def _calibrating():
    """Ten customers are too few to calibrate (50, and 10 of each outcome):
    lower both limits for the calibration tests."""
    return (
        patch.object(RetentionBacktest, "_min_customers", 5),
        # engine.backtest is also the name of the engine's function
        patch.object(sys.modules[ENGINE_BACKTEST], "MIN_OUTCOME", 2),
    )


@tagged("post_install", "-at_install")
class TestBacktest(RetentionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = {}
        specs = []
        for number, since, cadence, churned in TEN:
            partner = cls._customer(f"Customer {number}")
            cls.customers[number] = partner
            visits = 3 if cadence == 40 else 2
            specs += [
                (partner, CUT - timedelta(days=since + k * cadence))
                for k in range(visits)
            ]
            if not churned:
                specs.append((partner, AS_OF - timedelta(days=30)))
        cls._confirmed_orders(specs)
        cls.manager = cls._user("backtest_manager", "sales_team.group_sale_manager")
        cls.salesman = cls._user("backtest_salesman", "sales_team.group_sale_salesman")

    def _backtest(self, company=None, **kwargs):
        company = company or self.company
        action = company.with_user(self.manager).retention_backtest(**kwargs)
        return self.env["retention.backtest"].browse(action["res_id"])

    def _figures(self, backtest):
        return {
            rule.rule: {name: rule[name] for name in ("tp", "fp", "fn", "tn", "n")}
            for rule in backtest.rule_ids
        }

    def test_each_rule_counted_by_hand(self):
        backtest = self._backtest(as_of=AS_OF, horizon_days=90)
        self.assertEqual(backtest.cutoff, CUT)
        self.assertEqual(backtest.customers, 10)
        self.assertEqual(backtest.sample_size, 0)
        # Churned: 3, 5, 7, 8, 9. Came back: 1, 2, 4, 6, 10.
        # current: flags 4, 7, 8, 9 -> tp 7, 8, 9; fp 4; fn 3, 5; tn 1, 2, 6, 10.
        # calibrated: 10 customers are too few to calibrate -> the current settings.
        # days_60 (> 60): flags 4 to 10 -> tp 5, 7, 8, 9; fp 4, 6, 10; fn 3; tn 1, 2.
        # days_90: flags 6, 7, 8, 9, 10 -> tp 7, 8, 9; fp 6, 10; fn 3, 5; tn 1, 2, 4.
        # days_180: flags 8, 9 -> tp 8, 9; fn 3, 5, 7; tn all five who came back.
        # probability_50: too few customers for a model: nobody flagged.
        self.assertEqual(
            self._figures(backtest),
            {
                "current": {"tp": 3, "fp": 1, "fn": 2, "tn": 4, "n": 10},
                "calibrated": {"tp": 3, "fp": 1, "fn": 2, "tn": 4, "n": 10},
                # Too few customers to learn a chance: calibrated mode's
                # verdict is the at-risk rule of the settings.
                "judgement": {"tp": 3, "fp": 1, "fn": 2, "tn": 4, "n": 10},
                "days_60": {"tp": 4, "fp": 3, "fn": 1, "tn": 2, "n": 10},
                "days_90": {"tp": 3, "fp": 2, "fn": 2, "tn": 3, "n": 10},
                "days_180": {"tp": 2, "fp": 0, "fn": 3, "tn": 5, "n": 10},
                "probability_50": {"tp": 0, "fp": 0, "fn": 5, "tn": 5, "n": 10},
            },
        )
        rules = {rule.rule: rule for rule in backtest.rule_ids}
        expected = {
            # precision tp / (tp + fp), recall tp / (tp + fn),
            # F1 2 tp / (2 tp + fp + fn), J recall - fp / (fp + tn)
            "current": (3 / 4, 3 / 5, 6 / 9, 3 / 5 - 1 / 5),
            "days_60": (4 / 7, 4 / 5, 8 / 12, 4 / 5 - 3 / 5),
            "days_90": (3 / 5, 3 / 5, 6 / 10, 3 / 5 - 2 / 5),
            "days_180": (2 / 2, 2 / 5, 4 / 7, 2 / 5 - 0 / 5),
        }
        for name, (precision, recall, f1, j) in expected.items():
            rule = rules[name]
            for field, value in zip(
                ("precision", "recall", "f1", "youden_j"),
                (precision, recall, f1, j),
                strict=True,
            ):
                self.assertAlmostEqual(rule[field], value, places=6, msg=name)
        # AUC of the days since the last order: leavers 50, 70, 120, 200, 400
        # against 12, 30, 70, 100, 150: 50 beats 2; 70 beats 2 and ties 70
        # (2.5); 120 beats 4; 200 and 400 beat 5 -> 18.5 / 25 = 0.74.
        for name in ("days_60", "days_90", "days_180"):
            self.assertAlmostEqual(rules[name].auc, 0.74, places=6)
        # Of the current settings, days since over the threshold: leavers 50/60,
        # 70/180, 120/60, 200/180, 400/180 against 12/60, 30/60, 70/60, 100/180,
        # 150/180: 50/60 beats 3 and ties 150/180 (3.5), 70/180 beats 1, 2
        # beats 5, 200/180 beats 4, 400/180 beats 5 -> 18.5 / 25 = 0.74.
        self.assertAlmostEqual(rules["current"].auc, 0.74, places=6)
        # Nothing flagged, no model: no precision, no AUC, J 0.
        probability = rules["probability_50"]
        self.assertFalse(probability.has_precision)
        self.assertFalse(probability.has_auc)
        self.assertEqual(probability.youden_j, 0)
        self.assertTrue(rules["current"].has_auc)
        # The sentence of the issue: caught 3 of 5 leavers, 1 of 4 flagged came back.
        self.assertEqual(
            rules["current"].summary,
            "On your own history, 'Current settings' caught 60 % of the customers "
            "who then did not come back; 25 % of those flagged came back anyway.",
        )
        self.assertIn("flagged nobody", probability.summary)
        self.assertEqual(backtest.not_calibrated, "too_few_customers")
        self.assertAlmostEqual(backtest.current_youden_j, 0.4, places=6)
        # Nothing calibrated: the company keeps no calibrated values.
        self.assertFalse(self.company.retention_calibrated_on)

    def test_calibration_by_hand_and_blind_to_later_orders(self):
        # Thresholds t40 (cadence 40) and t300 (cadence 300) of the grid;
        # J = (caught - flagged who came back) / 5.
        #   t40 in [30, 50) flags 3, 4, 7; t300 in [150, 200) flags 8, 9 (and 9
        #   is lost): caught 3, 7, 8, 9, wrongly 4 -> J = 3/5 = 0.6, the best
        #   (also t40 in [70, 120): caught 7, 8, 9 -> 0.6; catching 5 at 70 days
        #   flags 6 and 10 too). The current settings (t40 = 60: 4 and 7 flagged,
        #   t300 = 180) -> J = (3 - 1) / 5 = 0.4.
        # The first grid point at 0.6: factor 1.0 (t40 = 40), minimum 7,
        # dormant 150 (t300 = min(300, 150)).
        first, second = _calibrating()
        with first, second:
            backtest = self._backtest()
            found = self._calibration(backtest)
            self.assertEqual(found[:3], (1.0, 7, 150))
            self.assertAlmostEqual(backtest.calibration_youden_j, 0.6, places=6)
            self.assertAlmostEqual(backtest.calibration_current_youden_j, 0.4, places=6)
            self.assertEqual(self.company.retention_calibrated_on, AS_OF)
            self.assertEqual(self.company.retention_calibrated_backtest_id, backtest)
            self.assertEqual(
                (
                    self.company.retention_calibrated_at_risk_factor,
                    self.company.retention_calibrated_min_at_risk_days,
                    self.company.retention_calibrated_dormant_days,
                ),
                (1.0, 7, 150),
            )
            # The proof: orders after as_of, from the leavers and from
            # new customers, change nothing.
            newcomer = self._customer("Newcomer")
            self._confirmed_orders(
                [
                    (self.customers[3], AS_OF + timedelta(days=1)),
                    (self.customers[5], AS_OF + timedelta(days=10)),
                    (self.customers[9], AS_OF + timedelta(days=40)),
                    (newcomer, AS_OF + timedelta(days=2)),
                ]
            )
            again = self._backtest()
            self.assertEqual(self._calibration(again), found)
            self.assertEqual(self._figures(again), self._figures(backtest))

    def _calibration(self, backtest):
        return (
            backtest.at_risk_factor,
            backtest.min_at_risk_days,
            backtest.dormant_days,
            round(backtest.calibration_youden_j, 6),
            backtest.not_calibrated,
        )

    def test_calibrated_mode_and_apply_button(self):
        first, second = _calibrating()
        with first, second:
            self._backtest()
        company = self.company
        fixed = company._retention_settings()
        self.assertEqual(
            (fixed.at_risk_factor, fixed.min_at_risk_days, fixed.dormant_days),
            (1.5, 30, 180),
        )
        company.retention_threshold_mode = "calibrated"
        settings = company._retention_settings()
        self.assertEqual(
            (settings.at_risk_factor, settings.min_at_risk_days, settings.dormant_days),
            (1.0, 7, 150),
        )
        self.assertEqual(company._retention_settings(fixed=True), fixed)
        # A lost limit lowered below the calibrated dormant days: the fixed
        # thresholds apply, never an invalid set.
        company.write({"retention_lost_days": 200, "retention_dormant_days": 120})
        company.retention_lost_days = 140
        self.assertEqual(company._retention_settings().dormant_days, 120)
        company.retention_lost_days = 365
        # The button copies the calibrated values into the fixed settings.
        # Thresholds are settings (issue 21, hole 7): a Sales administrator
        # runs back-tests, a Settings administrator applies their thresholds.
        with self.assertRaises(AccessError):
            company.with_user(self.salesman).action_retention_apply_calibrated()
        with self.assertRaises(AccessError):
            company.with_user(self.manager).action_retention_apply_calibrated()
        admin = self._user("backtest_admin", "base.group_system")
        company.with_user(admin).action_retention_apply_calibrated()
        self.assertEqual(
            (
                company.retention_at_risk_factor,
                company.retention_min_at_risk_days,
                company.retention_dormant_days,
            ),
            (1.0, 7, 150),
        )
        # From Settings too; the constraints still check what is copied.
        self.env["res.config.settings"].create({}).action_retention_apply_calibrated()
        company.retention_calibrated_dormant_days = 400  # beyond lost days
        with self.assertRaises(ValidationError):
            company.with_user(admin).action_retention_apply_calibrated()

    def test_apply_without_calibration_is_refused(self):
        admin = self._user("backtest_admin", "base.group_system")
        with self.assertRaisesRegex(UserError, "no calibrated thresholds yet"):
            self.company.with_user(admin).action_retention_apply_calibrated()

    def test_another_horizon_is_exploratory(self):
        # Issue 21, hole 7: a Sales administrator tries a 60-day horizon as
        # of today; the statuses keep the thresholds calibrated over the
        # company's prediction horizon (90 days), which stay in use.
        first, second = _calibrating()
        with first, second:
            calibrated = self._backtest()
            self.assertEqual(calibrated.horizon_days, 90)
            self.assertTrue(calibrated.in_use)
            in_use = self._calibration(calibrated)
            exploratory = self._backtest(horizon_days=60)
        self.assertEqual(exploratory.as_of, AS_OF)
        self.assertFalse(exploratory.in_use)
        self.assertTrue(calibrated.in_use)
        self.assertEqual(self.company.retention_calibrated_backtest_id, calibrated)
        self.assertEqual(
            (
                self.company.retention_calibrated_at_risk_factor,
                self.company.retention_calibrated_min_at_risk_days,
                self.company.retention_calibrated_dormant_days,
            ),
            in_use[:3],
        )
        # The horizon of the calibration is the company's: set to 60, the
        # next back-test over 60 days is the one put in use.
        self.company.retention_predict_horizon_days = 60
        with first, second:
            self.assertTrue(self._backtest(horizon_days=60).in_use)

    def test_only_managers_run_and_nobody_writes(self):
        with self.assertRaises(AccessError):
            self.company.with_user(self.salesman).retention_backtest()
        backtest = self._backtest()
        # Salespeople read the figures of their company ...
        as_salesman = backtest.with_user(self.salesman)
        self.assertEqual(len(as_salesman.rule_ids), 7)
        self.assertTrue(as_salesman.rule_ids[0].summary)
        # ... and nobody writes them over RPC.
        for user in (self.salesman, self.manager):
            Backtest = self.env["retention.backtest"].with_user(user)
            with self.assertRaises(AccessError):
                Backtest.create({"company_id": self.company.id, "as_of": AS_OF})
            with self.assertRaises(AccessError):
                backtest.with_user(user).write({"horizon_days": 1})
            with self.assertRaises(AccessError):
                backtest.rule_ids[0].with_user(user).write({"tp": 0})

    def test_bad_as_of_or_horizon(self):
        company = self.company.with_user(self.manager)
        for as_of in ("2025-13-01", "tomorrow", AS_OF + timedelta(days=1)):
            with self.assertRaises(UserError):
                company.retention_backtest(as_of=as_of)
        for horizon in (3, 1000, "ninety"):
            with self.assertRaises(UserError):
                company.retention_backtest(horizon_days=horizon)
        backtest = self._backtest(as_of="2025-05-31", horizon_days=30)
        self.assertEqual(backtest.as_of, AS_OF - timedelta(days=30))
        self.assertEqual(backtest.cutoff, AS_OF - timedelta(days=60))
        # A back-test of a past day leaves the company's calibration alone.
        self.assertFalse(self.company.retention_calibrated_backtest_id)

    def test_monthly_job_one_backtest_per_company(self):
        other = self.env["res.company"].create({"name": "Second Shop"})
        stranger = self._customer("Other shop's customer", company_id=other.id)
        self._confirmed_orders(
            [
                (stranger, AS_OF - timedelta(days=200)),
                (stranger, AS_OF - timedelta(days=150)),
            ],
            company=other,
        )
        self.recompute()
        other._retention_recompute(AS_OF)
        Backtest = self.env["retention.backtest"]
        before = Backtest.search([])
        for _call in range(4):
            Backtest._cron_backtest()
        new = Backtest.search([]) - before
        self.assertEqual(sorted(new.company_id.ids), sorted((self.company | other).ids))
        mine = new.filtered(lambda record: record.company_id == self.company)
        theirs = new - mine
        self.assertEqual(mine.customers, 10)
        # The other shop's one customer, no visit in (cut, AS_OF]: churned.
        self.assertEqual(theirs.customers, 1)
        self.assertEqual(theirs.rule_ids.company_id, other)
        self.assertEqual(mine.as_of, AS_OF)
        # Not due again this month.
        Backtest._cron_backtest()
        self.assertEqual(Backtest.search([]) - before, new)
        # A salesperson of the first shop sees its back-tests only.
        visible = Backtest.with_user(self.salesman).search([])
        self.assertEqual(visible.company_id, self.company)
