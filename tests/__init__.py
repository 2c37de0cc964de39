"""Tests and test tooling of the customer_retention repository.

``python3 -m tests.run`` runs everything (see ``tests/run.py``);
``tests/engine`` holds the pure engine tests, runnable without Odoo
(``python3 -m pytest tests/engine``); ``tests/harness`` the helpers that
start PostgreSQL and Odoo for the tests, the demo and the benchmark.
"""
