"""Odoo inside this Python process, for scripts that time what they do
(benchmark) or load data set-based (demo): no subprocess, no RPC."""

import contextlib

from .odoo_env import OdooDatabase


@contextlib.contextmanager
def odoo_environment(database: OdooDatabase, log_level="warn"):
    """An ``env`` as superuser on ``database``; the caller commits."""
    import odoo
    from odoo import SUPERUSER_ID, api

    odoo.tools.config.parse_config(database.server_args() + [f"--log-level={log_level}", "--no-http"])
    registry = odoo.modules.registry.Registry(database.name)
    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})
