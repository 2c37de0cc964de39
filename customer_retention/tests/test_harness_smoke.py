# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Throwaway proof that the test harness works: replace with real tests."""
from odoo.tests import HttpCase, TransactionCase, tagged


class TestHarnessSmoke(TransactionCase):
    def test_addon_installed(self):
        module = self.env["ir.module.module"].search([("name", "=", "customer_retention")])
        self.assertEqual(module.state, "installed")


@tagged("post_install", "-at_install")
class TestHarnessBrowser(HttpCase):
    def test_web_client_loads(self):
        # without demo data the admin gets the onboarding tours; keep them out of the way
        self.env.ref("base.user_admin").tour_enabled = False
        self.browser_js("/odoo", "console.log('test successful')", "odoo.isReady === true", login="admin")
