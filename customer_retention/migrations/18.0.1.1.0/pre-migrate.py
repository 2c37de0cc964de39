# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)

# Views of 4c66b00 that no later version declares. Before the new views are
# validated, the combined arch of every view they inherit includes these
# stale extensions, which name fields that are gone (retention_order_count):
# ParseError. Odoo would delete them only at the end of the update.
STALE_VIEWS = (
    "res_config_settings_view_form_retention",
    "res_partner_view_form_retention",
    "res_partner_view_search_retention_panel",
    "res_partner_view_search_retention_sms",
    "res_partner_view_tree_retention",
)


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    cr.execute(
        """
        SELECT res_id FROM ir_model_data
         WHERE module = 'customer_retention' AND model = 'ir.ui.view'
           AND name IN %s
        """,
        [STALE_VIEWS],
    )
    views = env["ir.ui.view"].browse([row[0] for row in cr.fetchall()]).exists()
    if views:
        _logger.info("removing %d views of an earlier version", len(views))
        views.with_context(_force_unlink=True).unlink()
