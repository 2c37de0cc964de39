# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.0.0 -> 18.0.1.1.0, after the new models and data are loaded.

Two databases say 18.0.1.0.0 (RELEASES.md): the release (20693e1), which
needs nothing here, and an earlier main (4c66b00), which kept the retention
values in company-dependent jsonb columns of ``res_partner``. Those columns
tell one from the other: the new registry stores no ``retention_*`` jsonb
field on res.partner. Plain SQL and Odoo's own models only: the addon's
methods may change in later versions, this script may not.

Both also kept the state of the nightly run in columns of ``res_company``;
it lives in ``retention_run`` now, one row per company, carried over here
before Odoo drops the columns of the removed fields at the end of the
update.
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


# The company columns of 18.0.1.0.0 (both rows) and the retention_run
# columns that take their values. 4c66b00 has retention_last_run alone.
RUN_COLUMNS = {
    "retention_run_as_of": "as_of",
    "retention_run_phase": "phase",
    "retention_run_cursor": "cursor",
    "retention_run_started": "started",
    "retention_run_written": "written",
    "retention_last_run": "last_run",
    "retention_last_attempt": "last_attempt",
    "retention_last_error": "last_error",
    "retention_recompute_requested": "requested",
    "retention_changed_until": "changed_until",
    "retention_report_until": "report_until",
    "retention_months_built": "months_built",
    "retention_prediction_params": "prediction_params",
    "retention_prediction_fitted_at": "prediction_fitted_at",
    "retention_prediction_model": "prediction_model",
    "retention_prediction_no_model": "prediction_no_model",
    "retention_prediction_bgnbd_auc": "prediction_bgnbd_auc",
    "retention_prediction_rhythm_auc": "prediction_rhythm_auc",
}


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    _carry_run_state(cr)
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
    # retention_run_phases._history_day), and come now rather than at night.
    cr.execute(
        """
        UPDATE retention_run SET last_run = NULL, requested = TRUE
         WHERE last_run IS NOT NULL
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


def _carry_run_state(cr):
    """One retention_run row per company, with the run's state from the
    company's columns (those the database has)."""
    cr.execute(
        """
        SELECT column_name FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'res_company'
        """
    )
    present = {name for (name,) in cr.fetchall()}
    moved = {old: new for old, new in RUN_COLUMNS.items() if old in present}
    cr.execute(
        SQL(
            """
            INSERT INTO retention_run (%(new)s, create_uid, create_date,
                                       write_uid, write_date)
            SELECT %(old)s, %(uid)s, now() AT TIME ZONE 'UTC', %(uid)s,
                   now() AT TIME ZONE 'UTC'
              FROM res_company c
            ON CONFLICT (company_id) DO NOTHING
            """,
            new=SQL(", ").join(
                SQL.identifier(new) for new in ("company_id", *moved.values())
            ),
            old=SQL(", ").join(SQL.identifier("c", old) for old in ("id", *moved)),
            uid=SUPERUSER_ID,
        )
    )
    _logger.info(
        "customer_retention: the nightly run's state of %d companies moved from "
        "res_company (%d columns) to retention_run",
        cr.rowcount,
        len(moved),
    )
    if "retention_run_phase" not in present:
        return
    # A run in progress in its outlook phase: its position was the models'
    # fit (0), then -1 for "fitted, nobody scored yet", then the customers'
    # ids; now the fit is a phase of its own. Whether its chunks of values
    # were scored in passing was read from the models' date.
    cr.execute(
        """
        UPDATE retention_run
           SET phase = CASE WHEN cursor = 0 THEN 'refit' ELSE 'predict' END,
               cursor = GREATEST(cursor, 0)
         WHERE phase = 'predict'
        """
    )
    cr.execute(
        """
        UPDATE retention_run
           SET models_fitted_first = COALESCE(
                   prediction_params IS NOT NULL AND prediction_fitted_at >= started,
                   FALSE)
         WHERE phase IS NOT NULL
        """
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
