# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.0.0 -> 18.0.1.1.0, after the new models and data are loaded.

Two databases say 18.0.1.0.0 (RELEASES.md): the release (20693e1), which
needs nothing here, and an earlier main (4c66b00), which kept the retention
values in company-dependent jsonb columns of ``res_partner``. Those columns
tell one from the other: the new registry stores no ``retention_*`` jsonb
field on res.partner. Plain SQL and Odoo's own models only: the addon's
methods may change in later versions, this script may not.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# 4c66b00's daily and hourly jobs ran on res.partner. They are noupdate
# records, which -u leaves as they are: the next night would call a method
# that res.partner no longer has. They run on res.company now.
COMPANY_CRONS = (
    "customer_retention.ir_cron_retention_recompute",
    "customer_retention.ir_cron_retention_recompute_changed",
)


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    columns = _partner_jsonb_leftovers(env)
    if not columns:
        return
    _logger.info(
        "customer_retention: a database of 4c66b00 (retention values in %d jsonb "
        "columns of res_partner): moving its jobs to res.company and asking for "
        "a run",
        len(columns),
    )
    company_model = env.ref("base.model_res_company")
    for xmlid in COMPANY_CRONS:
        cron = env.ref(xmlid, raise_if_not_found=False)
        if cron and cron.model_id.model == "res.partner":
            cron.model_id = company_model
    # The values now live in retention_partner_state, empty until the next
    # run. That run must count as each company's first (statuses of
    # customers seen for the first time are no change of status; see
    # res.company._retention_history_day), and come now rather than at night.
    cr.execute(
        """
        UPDATE res_company
           SET retention_last_run = NULL, retention_recompute_requested = TRUE
         WHERE retention_last_run IS NOT NULL
        """
    )
    if cr.rowcount:
        cron = env.ref(COMPANY_CRONS[0], raise_if_not_found=False)
        if cron:
            cron._trigger()
    # The old values, one jsonb per customer and field, rewritten on every
    # row of res_partner each night: gone with the fields that stored them.
    for column in columns:
        cr.execute(
            SQL("ALTER TABLE res_partner DROP COLUMN %s", SQL.identifier(column))
        )


def _partner_jsonb_leftovers(env):
    """The jsonb retention_* columns of res_partner that no stored field of
    res.partner declares any more."""
    env.cr.execute(
        """
        SELECT column_name FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'res_partner'
           AND column_name LIKE 'retention\\_%' AND data_type = 'jsonb'
        """
    )
    fields = env["res.partner"]._fields
    return sorted(
        name
        for (name,) in env.cr.fetchall()
        if name not in fields or not fields[name].store
    )
