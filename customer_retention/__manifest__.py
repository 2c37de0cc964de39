# Copyright 2026 customer_retention contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Customer Retention",
    "summary": "Find the customers you are about to lose: cadence, status, "
    "peer rank, trend and win-back actions per customer",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "website": "https://github.com/customer-retention/customer_retention",
    "author": "customer_retention contributors",
    "license": "LGPL-3",
    "depends": ["sale", "sms"],
    "external_dependencies": {"python": ["pandas", "phonenumbers"]},
    "data": [
        "data/ir_cron_data.xml",
        "views/res_config_settings_views.xml",
    ],
    "installable": True,
    "application": False,
}
