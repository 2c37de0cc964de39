"""Load the pure engine on its own, without the addon's ``__init__`` (which
imports the Odoo models and so needs Odoo): the engine tests run anywhere
pandas does."""

from tests.harness import engine

engine.load()
