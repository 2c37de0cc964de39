"""pytest plugin that ``tests.run`` loads next to pytest-odoo
(``-p tests.harness.pytest_plugin``).

A browser test that cannot get a browser fails
    Odoo's HttpCase raises ``unittest.SkipTest`` when Chrome is missing or
    does not start, or websocket-client is not installed, so a broken
    machine shows green with a few "s". Those skips become failures; skips
    for any other reason are left alone.

No false alarm from pytest-odoo
    pytest-odoo imports ``odoo.tests`` before it switches Odoo's test mode
    on, and Odoo 18 answers with an ERROR and a stack trace ("Importing test
    framework, avoid importing from business modules...") at the top of
    every run. That one record is dropped; Odoo's own test runner never
    triggers it.
"""

import logging
import re

import pytest

BROWSER_SKIP = re.compile(r"chrome|websocket|devtools|browser", re.IGNORECASE)


def _not_the_import_warning(record):
    return not record.getMessage().startswith(
        "Importing test framework, avoid importing"
    )


logging.getLogger("odoo.tests.common").addFilter(_not_the_import_warning)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or not _is_http_case(item):
        return
    reason = (
        report.longrepr[2]
        if isinstance(report.longrepr, tuple)
        else str(report.longrepr)
    )
    if BROWSER_SKIP.search(reason):
        report.outcome = "failed"
        report.longrepr = (
            f"browser test could not run, which counts as a failure here: {reason}"
        )


def _is_http_case(item):
    from odoo.tests.common import HttpCase

    cls = getattr(item, "cls", None)
    return cls is not None and issubclass(cls, HttpCase)
