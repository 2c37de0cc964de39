# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The outlook of each customer (engine/predict.py) through the nightly run:
the models fitted once on the company's customers and kept on the company,
every customer scored chunk by chunk with them, a recompute of a customer
scored with the kept models, never a made-up number."""

import math
from datetime import datetime, time, timedelta
from unittest import mock

from freezegun import freeze_time

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from ..engine.predict import (
    BgNbd,
    GammaGamma,
    _visits_if_alive,
    bgnbd_return_probability,
    gamma_gamma_expected_ticket,
)
from ..models import retention_run, retention_run_phases
from .common import AS_OF
from .test_history import HistoryCase

# 64 customers: customer i comes every CADENCES[i % 4] days, 3 + i % 5
# times (the first at least 31 days ago), the last time LAST[i % 8] days
# ago; some are long overdue.
CADENCES = (14, 30, 60, 90)
LAST = (3, 10, 25, 45, 70, 120, 200, 320)
CUSTOMERS = 64
# The list's filter "Chance of Return Below 50%": customers without a
# chance are not below anything (the ORM counts an empty number as 0).
BELOW_HALF = [
    ("retention_return_probability", "!=", False),
    ("retention_return_probability", "<", 50),
]


@tagged("post_install", "-at_install")
class TestPredict(HistoryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.env["res.partner"].create(
            [{"name": f"Customer {index:02d}"} for index in range(CUSTOMERS)]
        )
        specs = []
        cls.visit_days = {}
        for index, partner in enumerate(cls.customers):
            cadence, last = CADENCES[index % 4], LAST[index % 8]
            days = [
                AS_OF - timedelta(days=last + cadence * visit)
                for visit in range(3 + index % 5)
            ]
            cls.visit_days[partner] = sorted(days)
            amount = 40.0 + 10 * (index % 6)
            specs += [(partner, day, amount, None, None) for day in days]
        # First seen 10 days ago: too little history for a number.
        cls.newcomer = cls.env["res.partner"].create({"name": "Newcomer"})
        specs.append((cls.newcomer, AS_OF - timedelta(days=10), 80.0, None, None))
        cls._orders(specs)
        cls.env.flush_all()
        cls.company._retention_run_step(budget=1000)
        cls.company_run = cls.company._retention_run()
        cls.params = cls.company_run.prediction_params

    def _state(self, partner, company=None):
        return self.env["retention.partner.state"].search(
            [
                ("company_id", "=", (company or self.company).id),
                ("partner_id", "=", partner.id),
            ]
        )

    def test_every_customer_with_history_gets_a_chance(self):
        self.assertEqual(self.params["horizon_days"], 90)
        self.assertIn(self.params["model"], ("bgnbd", "rhythm"))
        self.assertFalse(self.params["no_prediction"])
        self.assertEqual(self.company_run.prediction_model, self.params["model"])
        self.assertIn("AUC", self.company_run.prediction_summary)
        for partner in self.customers:
            state = self._state(partner)
            self.assertFalse(state.no_prediction, partner.name)
            self.assertTrue(0 <= state.return_probability <= 100, partner.name)
            self.assertGreaterEqual(state.revenue_at_risk, 0.0)
        # The newcomer: no number, and why.
        newcomer = self.newcomer.with_company(self.company)
        self.assertEqual(newcomer.retention_no_prediction, "too_little_history")
        self.assertFalse(newcomer.retention_return_probability)
        self.env.cr.execute(
            "SELECT return_probability FROM retention_partner_state"
            " WHERE company_id = %s AND partner_id = %s",
            [self.company.id, self.newcomer.id],
        )
        self.assertIsNone(self.env.cr.fetchone()[0])
        # The run went through its phases and ended.
        self.assertFalse(self.company_run.phase)

    def test_later_nights_fit_first_and_score_each_chunk_in_passing(self):
        # The first night had no stored customer to fit on before the
        # values: it fitted after ranking and scored in a phase of its own.
        # From then on the models are fitted first (here every night) and
        # every chunk of values is scored from the transactions it read,
        # which Retention Analysis is brought up to date from too: one read
        # of the documents per chunk.
        self.env["ir.config_parameter"].set_param(retention_run_phases.REFIT_PARAM, "1")
        phases = []
        run_chunk = retention_run.RetentionRun._chunk

        def record(run, commit, stats):
            phases.append(run.phase)
            return run_chunk(run, commit, stats)

        extract = retention_run_phases.retention_store.extract_transactions
        read_visits = retention_run_phases.retention_history.extract_visits
        with (
            mock.patch.object(retention_run.RetentionRun, "_chunk", record),
            mock.patch.object(
                retention_run_phases.retention_store,
                "extract_transactions",
                side_effect=extract,
            ) as extracts,
            mock.patch.object(
                retention_run_phases.retention_history,
                "extract_visits",
                side_effect=read_visits,
            ) as visits,
        ):
            self._run(AS_OF + timedelta(days=1))
        self.assertEqual(phases, ["fit", "compute", "rank", "history"])
        # The sample the models are fitted on, then the one chunk's
        # documents; the history phase only ends Retention Analysis.
        self.assertEqual(extracts.call_count, 1)
        self.assertEqual(visits.call_count, 1)
        self.assertGreater(
            self.company_run.prediction_fitted_at,
            self.company_run.started - timedelta(seconds=1),
        )
        for partner in self.customers[:8]:
            self.assertTrue(0 <= self._state(partner).return_probability <= 100)

    def _fits_of(self, day):
        """The number of fits of the run of ``day`` (its models kept)."""
        fit = retention_run_phases.fit_models
        with mock.patch.object(
            retention_run_phases, "fit_models", side_effect=fit
        ) as fits:
            self._run(day)
        return fits.call_count

    def test_the_models_serve_a_week_then_are_fitted_again(self):
        # Fitted on the first night (AS_OF); the next six nights score with
        # them, each chunk still scored as it is computed, the seventh
        # fits them again.
        fitted_at = self.company_run.prediction_fitted_at
        partner = self.customers[5]  # every 60 days, the last 120 days ago
        chances = []
        for days in range(1, 7):
            self.assertEqual(self._fits_of(AS_OF + timedelta(days=days)), 0, days)
            self.assertEqual(self.company_run.prediction_fitted_at, fitted_at)
            self.assertEqual(self.company_run.prediction_params, self.params)
            self.assertFalse(self.company_run.phase, "the run ended")
            state = self._state(partner)
            state.invalidate_recordset()
            chances.append(state.return_probability)
        # Scored every night with the kept models: the chance of a customer
        # long overdue keeps falling as the days pass.
        self.assertEqual(chances, sorted(chances, reverse=True))
        self.assertGreater(chances[0], chances[-1])
        self.assertEqual(self._fits_of(AS_OF + timedelta(days=7)), 1)
        self.assertGreater(self.company_run.prediction_fitted_at, fitted_at)

    def test_what_shapes_the_models_fits_them_again_at_once(self):
        # A new horizon, or new thresholds: the next night fits them again.
        self.assertEqual(self._fits_of(AS_OF + timedelta(days=1)), 0)
        self.company.retention_predict_horizon_days = 60
        self.assertEqual(self._fits_of(AS_OF + timedelta(days=2)), 1)
        self.assertEqual(self.company_run.prediction_params["horizon_days"], 60)
        self.assertEqual(self._fits_of(AS_OF + timedelta(days=3)), 0)
        self.company.retention_lost_days += 30
        self.assertEqual(self._fits_of(AS_OF + timedelta(days=4)), 1)

    def test_the_refit_interval_is_a_system_parameter(self):
        # Every other night; a value that is no number of days is logged and
        # the week used.
        Param = self.env["ir.config_parameter"]
        Param.set_param(retention_run_phases.REFIT_PARAM, "2")
        fits = [self._fits_of(AS_OF + timedelta(days=days)) for days in (1, 2, 3, 4)]
        self.assertEqual(fits, [0, 1, 0, 1])
        Param.set_param(retention_run_phases.REFIT_PARAM, "weekly")
        with self.assertLogs(retention_run_phases.__name__, "WARNING") as logs:
            self.assertEqual(retention_run_phases.refit_days(self.env), 7)
        self.assertIn("weekly", logs.output[0])

    def test_the_phases_of_each_kind_of_run(self):
        # retention_run.PHASES: the first night has nothing stored to fit
        # on before the values, later nights do; a past day has no outlook
        # and no Retention Analysis.
        shop = self.other_company
        for index, partner in enumerate(self.customers[:4]):
            for days_ago in (300, 200, 100 + index):
                self._order(
                    partner, AS_OF - timedelta(days=days_ago), 30.0, company=shop
                )
        self.env.flush_all()
        phases = []
        run_chunk = retention_run.RetentionRun._chunk

        def record(run, commit, stats):
            phases.append(run.phase)
            return run_chunk(run, commit, stats)

        with mock.patch.object(retention_run.RetentionRun, "_chunk", record):
            for day in (AS_OF, AS_OF + timedelta(days=1), AS_OF - timedelta(days=7)):
                phases.clear()
                self._run_company(shop, day)
                self.assertFalse(shop._retention_run().phase, "the run ended")
                kinds = {
                    AS_OF: ["fit", "compute", "rank", "refit", "predict", "history"],
                    AS_OF + timedelta(days=1): ["fit", "compute", "rank", "history"],
                    AS_OF - timedelta(days=7): ["compute", "rank"],
                }
                self.assertEqual(phases, kinds[day], day)
        selection = self.env["retention.run"]._fields["phase"].selection
        self.assertEqual([key for key, _label in selection], list(retention_run.PHASES))

    def _run_company(self, company, day):
        """The run of ``day`` of ``company``, on a clock whose today is the
        later of ``day`` and AS_OF."""
        with freeze_time(datetime.combine(max(day, AS_OF), time(12, 0))):
            company._retention_run_step(budget=1000, as_of=day)

    def test_revenue_at_risk_is_the_value_times_the_chance_of_no_visit(self):
        # Customer 37: every 30 days, 5 visits, the last 120 days ago.
        # Visit days (day 0 = the first): 0, 30, 60, 90, 120 -> x = 4 repeat
        # visits, recency 120, T = 120 + 120 = 240; 40 + 10 x 1 = 50 a visit.
        partner = self.customers[37]
        days = self.visit_days[partner]
        self.assertEqual(len(days), 5)
        x, recency, T = 4, 120, 240
        self.assertEqual((days[-1] - days[0]).days, recency)
        self.assertEqual((AS_OF - days[0]).days, T)
        bgnbd = BgNbd(*(self.params[key] for key in BgNbd._fields))
        ticket = GammaGamma(*(self.params[key] for key in GammaGamma._fields))
        expected_ticket = gamma_gamma_expected_ticket(ticket, [x], [50.0])[0]
        if_alive = _visits_if_alive(bgnbd, 365, [x], [recency], [T])[0]
        state = self._state(partner)
        if self.params["model"] == "bgnbd":
            chance = bgnbd_return_probability(bgnbd, 90, [x], [recency], [T])[0]
            self.assertAlmostEqual(state.return_probability, 100 * chance, places=6)
        gone = 1 - state.return_probability / 100
        self.assertAlmostEqual(
            state.revenue_at_risk, round(if_alive * expected_ticket * gone, 2), 2
        )
        self.assertAlmostEqual(
            state.predicted_revenue,
            round(state.expected_visits * expected_ticket, 2),
            delta=0.01,
        )

    def test_a_salesperson_sorts_and_filters_the_list_by_the_outlook(self):
        Partner = self.env["res.partner"].with_user(self.rep)
        domain = [("id", "in", self.customers.ids)]
        top = Partner.search(domain, order="retention_revenue_at_risk desc", limit=5)
        values = top.mapped("retention_revenue_at_risk")
        self.assertEqual(values, sorted(values, reverse=True))
        states = self.env["retention.partner.state"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(values[0], max(states.mapped("revenue_at_risk")))
        below = Partner.search(domain + BELOW_HALF)
        self.assertEqual(
            set(below.ids),
            {
                state.partner_id.id
                for state in states
                if state.partner_id in self.customers and state.return_probability < 50
            },
        )
        groups = Partner.read_group(
            domain, ["retention_revenue_at_risk:sum"], ["retention_prediction_model"]
        )
        self.assertEqual(
            [group["retention_prediction_model"] for group in groups],
            [self.params["model"]],
        )

    def test_the_reason_of_an_overdue_customer_gives_the_chance(self):
        # Customer 6: every 60 days, the last 200 days ago: at risk.
        partner = self.customers[6].with_company(self.company)
        self.assertIn(partner.retention_status, ("at_risk", "lost"))
        # Shown in whole percent, rounded down (judgement.shown_chance).
        probability = math.floor(self._state(partner).return_probability)
        self.assertIn(
            f"; {probability} % chance of a visit in the next 90 days.",
            partner.retention_reason,
        )
        # An active customer's sentence has no number of it.
        # Customer 9: every 30 days, the last 10 days ago.
        active = self.customers[9].with_company(self.company)
        self.assertEqual(active.retention_status, "active")
        self.assertNotIn("chance", active.retention_reason)

    def test_a_recompute_scores_with_the_kept_models_without_fitting(self):
        partner = self.customers[6]
        before = self._state(partner).return_probability
        self._orders([(partner, AS_OF, 70.0, None, None)])
        fitted_at = self.company_run.prediction_fitted_at
        with mock.patch.object(
            retention_run_phases, "fit_models", side_effect=AssertionError("no fit")
        ):
            self.company._retention_recompute(partner_ids=partner.ids)
        self.assertEqual(self.company_run.prediction_fitted_at, fitted_at)
        self.assertEqual(self.company_run.prediction_params, self.params)
        state = self._state(partner)
        state.invalidate_recordset()
        # Came back today: a higher chance than when 200 days overdue.
        self.assertGreater(state.return_probability, before)
        # The hourly job too.
        self._age_orders()
        other = self.customers[7]
        before = self._state(other).return_probability
        self._orders([(other, AS_OF, 70.0, None, None)])
        self.company_run.last_run = AS_OF - timedelta(days=1)
        self.company_run.changed_until = AS_OF - timedelta(days=1)
        with mock.patch.object(
            retention_run_phases, "fit_models", side_effect=AssertionError("no fit")
        ):
            self.company._retention_recompute_changed()
        state = self._state(other)
        state.invalidate_recordset()
        self.assertGreater(state.return_probability, before)

    def test_a_company_with_too_few_customers_gets_no_number(self):
        shop = self.other_company
        few = self.env["res.partner"].create(
            [{"name": f"Few {index}"} for index in range(3)]
        )
        for index, partner in enumerate(few):
            for days_ago in (300, 200, 100 + index):
                self._order(
                    partner, AS_OF - timedelta(days=days_ago), 30.0, company=shop
                )
        self.env.flush_all()
        shop._retention_run_step(budget=1000)
        shop_run = shop._retention_run()
        self.assertEqual(shop_run.prediction_no_model, "too_few_customers")
        self.assertFalse(shop_run.prediction_model)
        for partner in few:
            state = self._state(partner, company=shop)
            self.assertEqual(state.no_prediction, "too_few_customers")
            self.env.cr.execute(
                "SELECT return_probability, revenue_at_risk FROM"
                " retention_partner_state WHERE id = %s",
                [state.id],
            )
            self.assertEqual(self.env.cr.fetchone(), (None, None))
            seen = partner.with_company(shop)
            self.assertEqual(seen.retention_no_prediction, "too_few_customers")
            self.assertNotIn("chance", seen.retention_reason)
        # No model is fitted again the next night: more customers (history
        # imported after installing, say) get numbers at once.
        fits = retention_run_phases.fit_models
        with mock.patch.object(
            retention_run_phases, "fit_models", side_effect=fits
        ) as fitted:
            self._run_company(shop, AS_OF + timedelta(days=1))
        self.assertEqual(fitted.call_count, 1)
        # The first company keeps its models and numbers, and sees none of these.
        self.assertEqual(self.company_run.prediction_params, self.params)
        self.assertFalse(
            few.with_company(self.company).mapped("retention_return_probability")[0]
        )
        self.assertFalse(
            self.env["res.partner"]
            .with_company(shop)
            .search([("id", "in", few.ids), *BELOW_HALF])
        )
        Partner = self.env["res.partner"].with_company(self.company)
        self.assertFalse(Partner.search([("id", "in", few.ids), *BELOW_HALF]))

    def test_a_user_without_sales_rights_cannot_read_the_outlook(self):
        user = self._user("no_sales_outlook", "base.group_user")
        partner = self.customers[0].with_user(user)
        for name in (
            "retention_return_probability",
            "retention_expected_visits",
            "retention_predicted_revenue",
            "retention_revenue_at_risk",
            "retention_no_prediction",
        ):
            with self.assertRaises(AccessError):
                partner.read([name])
            with self.assertRaises(AccessError):
                partner.search([(name, "!=", False)])

    def test_the_horizon_is_validated(self):
        for days in (6, 731):
            with self.assertRaises(ValidationError):
                self.company.retention_predict_horizon_days = days
        self.company.retention_predict_horizon_days = 30
        self.assertEqual(self.company.retention_predict_horizon_days, 30)

    def test_a_back_test_keeps_the_models_of_today(self):
        fitted_at = self.company_run.prediction_fitted_at
        with mock.patch.object(
            retention_run_phases, "fit_models", side_effect=AssertionError("no fit")
        ):
            self.company._retention_run_step(
                budget=1000, as_of=AS_OF - timedelta(days=30)
            )
        self.assertEqual(self.company_run.prediction_fitted_at, fitted_at)
