"""Odoo inside this Python process, for scripts that time what they do
(benchmark) or load data set-based (demo): no subprocess, no RPC."""

import contextlib

from .odoo_env import OdooDatabase

_configured = False


@contextlib.contextmanager
def odoo_environment(database: OdooDatabase, log_level="warn"):
    """An ``env`` as superuser on ``database``; the caller commits. Odoo's
    configuration can be parsed once per process: later calls (another
    database on the same server) only switch the database."""
    global _configured
    import odoo
    from odoo import SUPERUSER_ID, api

    if not _configured:
        odoo.tools.config.parse_config(
            database.server_args() + [f"--log-level={log_level}", "--no-http"]
        )
        _configured = True
    odoo.tools.config["db_name"] = database.name
    registry = odoo.modules.registry.Registry(database.name)
    try:
        with registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {})
    finally:
        odoo.sql_db.close_db(database.name)  # the benchmark drops it next
