# Copyright 2026 customer_retention contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Customer Retention",
    "summary": "Find the customers you are about to lose: cadence, status, "
    "peer rank, trend and win-back actions per customer",
    "version": "18.0.1.1.0",
    "category": "Sales/Sales",
    "website": "https://github.com/customer-retention/customer_retention",
    # Not an OCA repository: its own authors (.pylintrc says so; pylint-odoo's
    # default asks for the OCA).
    "author": "customer_retention contributors",  # pylint: disable=manifest-required-author
    "license": "LGPL-3",
    # sale_management is the Sales app: without it Odoo hides the Sales menu.
    "depends": ["sale_management", "sms"],
    "external_dependencies": {"python": ["pandas", "phonenumbers", "scipy"]},
    "data": [
        "security/ir.model.access.csv",
        "security/retention_security.xml",
        "data/ir_cron_data.xml",
        "data/sms_template_data.xml",
        "data/retention_call_data.xml",
        "data/retention_backtest_data.xml",
        "views/res_config_settings_views.xml",
        "views/res_partner_views.xml",
        "views/retention_sms_campaign_views.xml",
        "views/retention_analysis_views.xml",
        "views/retention_summary_views.xml",
        "views/retention_call_views.xml",
        "views/customer_retention_menus.xml",
        "views/retention_backtest_views.xml",
        "wizard/retention_sms_wizard_views.xml",
        "wizard/retention_call_outcome_wizard_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "customer_retention/static/src/views/*",
        ],
        "web.assets_tests": [
            "customer_retention/static/tests/tours/*.js",
        ],
    },
    "post_init_hook": "post_init_hook",
    "installable": True,
    "application": False,
}
