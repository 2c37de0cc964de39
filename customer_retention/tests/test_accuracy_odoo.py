# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A public real history through Odoo (issue 22): the addon gives the
engine's figures.

CDNOW (music retail, 2,357 customers, tests/accuracy_data/cdnow.csv) up to
its as_of (1998-03-31) is loaded as confirmed sales orders, its days shifted
so that as_of is the tests' today (AS_OF), in a company whose clock is not
UTC. The nightly run computes the statuses and the chances of return, and
the accuracy harness (tests/accuracy.py) judges them against who bought in
the 91 days after as_of, as it judges the pure engine: the figures must be
the same.
"""

import sys
from datetime import datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
from freezegun import freeze_time

from odoo.tests import tagged

from .common import AS_OF, RetentionCase

REPO_ROOT = Path(__file__).resolve().parents[2]
HORIZON = 91


def harness():
    """tests/accuracy.py, from the repository this addon was tested in."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests import accuracy  # pylint: disable=import-outside-toplevel

    return accuracy


@tagged("post_install", "-at_install")
class TestPublicHistoryThroughOdoo(RetentionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accuracy = harness()
        dataset = cls.accuracy.cdnow()
        shift = pd.Timestamp(AS_OF) - dataset.as_of
        days = dataset.days.assign(day=dataset.days["day"] + shift)
        cls.as_of = pd.Timestamp(AS_OF)
        cls.days = days
        cls.history = cls.accuracy.upto(days, cls.as_of)
        cls.customers = cls.accuracy.judged_customers(cls.history, cls.as_of)
        cls.left = cls.accuracy.left_after(days, cls.customers, cls.as_of, HORIZON)
        cls.company.partner_id.tz = "Europe/Warsaw"
        cls.company.retention_predict_horizon_days = HORIZON
        partners = cls.env["res.partner"].create(
            [{"name": f"CDNOW {key}"} for key in cls.customers]
        )
        cls.partner_of = dict(zip(cls.customers.tolist(), partners.ids, strict=True))
        cls.customer_of = {pid: key for key, pid in cls.partner_of.items()}
        by_id = dict(zip(partners.ids, partners, strict=True))
        rows = cls.history.itertuples(index=False)
        # Noon UTC is the same day on Warsaw's clock.
        cls._confirmed_orders(
            [
                (by_id[cls.partner_of[row.customer]], row.day.date(), row.amount)
                for row in rows
            ]
        )

    def _night(self):
        """The whole-company run of today, as the daily job runs it."""
        with freeze_time(datetime.combine(AS_OF, time(12, 0))):
            self.company._retention_run_step(budget=10_000)
        self.assertFalse(self.company._retention_run().phase, "the run ended")

    def _values(self, fname):
        """``fname`` of the judged customers, in the harness's order, as a
        salesperson's list reads it."""
        partners = self.env["res.partner"].browse(
            [self.partner_of[key] for key in self.customers.tolist()]
        )
        return [partner[fname] for partner in partners.with_company(self.company)]

    def _engine(self, name):
        return self.accuracy.METHODS[name].run(
            self.history, self.as_of, HORIZON, self.customers
        )

    def test_fixed_mode_and_chance_are_the_engines(self):
        self._night()
        statuses = np.array(self._values("retention_status"))
        flag = np.isin(statuses, ("at_risk", "lost"))
        engine = self._engine("addon_default")
        np.testing.assert_array_equal(flag, engine.flag)
        self.assertAlmostEqual(
            self.accuracy.youden_j(flag, self.left),
            self.accuracy.youden_j(engine.flag, self.left),
            places=12,
        )
        # Every judged customer has a chance of return but the newest: the
        # run's is the engine's, stored as computed (so it ranks the leavers
        # exactly as well) and shown in whole percent, rounded down.
        chance = self._chances()
        expected = self._engine("addon_chance").details["_chance"]
        np.testing.assert_allclose(chance, expected, rtol=1e-9, equal_nan=True)
        np.testing.assert_array_equal(self._shown_chances(), np.floor(expected))
        score = 100.0 - np.where(np.isnan(chance), 50.0, chance)
        self.assertAlmostEqual(
            self.accuracy.auc(self.left, score),
            self.accuracy.auc(self.left, self._engine("addon_chance").score),
            places=9,
        )

    def _chances(self):
        """The chance of return of each judged customer as the run stored it
        (NaN: none)."""
        rows = self.env["retention.partner.state"].search_read(
            [("company_id", "=", self.company.id)],
            ["partner_id", "return_probability", "no_prediction"],
            load=None,
        )
        stored = {
            row["partner_id"]: np.nan
            if row["no_prediction"]
            else row["return_probability"]
            for row in rows
        }
        return np.array(
            [stored.get(self.partner_of[key], np.nan) for key in self.customers],
            dtype="float64",
        )

    def _shown_chances(self):
        """The chance of return each judged customer shows (NaN: none)."""
        return np.array(
            [
                np.nan if why else value
                for value, why in zip(
                    self._values("retention_return_probability"),
                    self._values("retention_no_prediction"),
                    strict=True,
                )
            ],
            dtype="float64",
        )

    def test_calibrated_mode_gives_the_engines_verdict_and_beats_the_baselines(self):
        # As an administrator would: calibrated mode, the monthly back-test
        # as of today over the company's horizon (91 days), then the night.
        self.company.retention_threshold_mode = "calibrated"
        with freeze_time(datetime.combine(AS_OF, time(12, 0))):
            backtest = self.env["retention.backtest"].browse(
                self.company.retention_backtest()["res_id"]
            )
        self.assertTrue(backtest.in_use)
        self.assertEqual(backtest.judgement_kind, "chance")
        judgement = self.company._retention_judged_by_chance()
        self.assertEqual(judgement.chance_threshold, backtest.chance_threshold)
        self._night()
        statuses = np.array(self._values("retention_status"))
        flag = np.isin(statuses, ("at_risk", "lost"))
        chance = self._chances()
        # One verdict: every customer with a chance is at risk or lost below
        # the threshold, new or active at or above it, as stored and as the
        # list shows it.
        shown = ~np.isnan(chance)
        self.assertGreater(shown.sum(), 0.9 * len(chance))
        for seen in (chance, self._shown_chances()):
            np.testing.assert_array_equal(
                flag[shown], seen[shown] < judgement.chance_threshold
            )
        reasons = self._values("retention_reason")
        threshold = f"{judgement.chance_threshold:g} %"
        self.assertTrue(all(threshold in reason for reason in np.array(reasons)[shown]))
        # The engine's verdict, figure for figure.
        engine = self._engine("addon_calibrated")
        self.assertEqual(engine.details["chance_threshold"], judgement.chance_threshold)
        np.testing.assert_array_equal(flag, engine.flag)
        j = self.accuracy.youden_j(flag, self.left)
        score = 100.0 - np.where(np.isnan(chance), 50.0, chance)
        auc = self.accuracy.auc(self.left, score)
        # At least the best honest baseline of the harness, on J and AUC.
        report = self.accuracy.judge(self.accuracy.cdnow())
        best_j = report["methods"][self.accuracy.best_baseline(report["methods"], "j")]
        best_auc = report["methods"][
            self.accuracy.best_baseline(report["methods"], "auc")
        ]
        self.assertGreaterEqual(j, best_j["j"])
        self.assertGreaterEqual(auc, best_auc["auc"])
