"""The start of every command of ``tests/`` (the test run, the core-tests
comparison): refuse to start without the prerequisites, then let Ctrl-C and
SIGTERM unwind the stack, so that throwaway clusters are stopped and deleted."""

import signal


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def start(problems, fail):
    """``None`` when the command may go on; else the exit status, after
    ``fail`` has reported the missing prerequisites."""
    if problems:
        return fail("cannot run the tests:\n  - " + "\n  - ".join(problems))
    # Set explicitly: a background job (a CI step) inherits SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    return None
