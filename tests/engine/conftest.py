"""Load the pure engine on its own, without the addon's ``__init__`` (which
imports the Odoo models and so needs Odoo): the engine tests run anywhere
pandas does."""

import importlib.util
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "customer_retention" / "engine"


def _load_engine():
    if "retention_engine" in sys.modules:
        return sys.modules["retention_engine"]
    spec = importlib.util.spec_from_file_location(
        "retention_engine",
        ENGINE / "__init__.py",
        submodule_search_locations=[str(ENGINE)],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["retention_engine"] = module
    spec.loader.exec_module(module)
    return module


_load_engine()
