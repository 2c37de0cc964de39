"""Helpers that start PostgreSQL and Odoo for tests, demos and benchmarks.

``pg``: throwaway, persistent or external PostgreSQL servers.
``odoo_env``: odoo-bin in a subprocess (install, shell, pytest-odoo options).
``prereq``: what a run needs, checked up front.
``pytest_plugin``: loaded by tests.run next to pytest-odoo (browser skips fail).
``engine``: the pure engine loaded on its own (engine tests, accuracy harness).

Kept free of imports so that loading one module stays cheap.
"""
