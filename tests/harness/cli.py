"""The frame of every command of ``tests/`` (the test run, the core-tests
comparison): refuse to start without the prerequisites, let Ctrl-C and
SIGTERM unwind the stack so that throwaway clusters are stopped and deleted,
and turn the harness's errors into a message and an exit status."""

import contextlib
import signal

from . import pg
from .odoo_env import OdooError


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(problems, fail, body, describe_odoo_error):
    """``body(stack)`` inside an ExitStack, or the exit status of what went
    wrong, reported through ``fail``: missing ``problems`` (prerequisites),
    an interruption, PostgreSQL, or Odoo (``describe_odoo_error(error)``)."""
    if problems:
        return fail("cannot run the tests:\n  - " + "\n  - ".join(problems))
    # Set explicitly: a background job (a CI step) inherits SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        with contextlib.ExitStack() as stack:
            return body(stack)
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    except pg.PostgresError as error:
        return fail(f"PostgreSQL: {error}")
    except OdooError as error:
        return fail(describe_odoo_error(error))
