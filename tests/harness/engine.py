"""The pure engine on its own, as ``retention_engine``: loaded from its
folder, not through the addon's ``__init__`` (which imports the Odoo models
and so needs Odoo), so that the engine tests and the accuracy harness run
anywhere pandas does."""

import importlib.util
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "customer_retention" / "engine"
NAME = "retention_engine"


def load():
    """The engine package (loaded once)."""
    if NAME in sys.modules:
        return sys.modules[NAME]
    spec = importlib.util.spec_from_file_location(
        NAME, ENGINE / "__init__.py", submodule_search_locations=[str(ENGINE)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    spec.loader.exec_module(module)
    return module
