# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""How every scheduled job of the addon makes one call (issue 23).

A job has items to work on (companies, SMS campaigns) and a unit of work
for one item: a chunk of a company's nightly run, a back-test, a batch of
SMS... :func:`call` does one unit on the first item that is not busy, in a
transaction of its own, and reports progress to Odoo's runner the same way
for every job:

- **Progress**: ``ir.cron._notify_progress(done, remaining)``. While work
  remains, Odoo's runner calls the job again in the same unit of work (up
  to 10 calls), committing after each.
- **Bounded**: a multi-worker server kills a unit of work that passes
  ``limit_time_real`` (120 s) or ``limit_time_cpu`` (60 s), and all the
  runner's calls of one run are one unit. A unit therefore works about
  CRON_BUDGET seconds: each call gets what is left of it, and once another
  call as long as the last one would not fit, the job reports nothing more
  to this unit and triggers itself, so that the rest comes as a new unit.
- **Busy**: :class:`RetentionBusyError`, and only it, means that another
  worker holds the company's lock: the item is left for a later call.
- **Failure**: any other error rolls back this unit alone; the job records
  it on the item (so that the item is not due again at once) and the
  others go on.
"""

import contextlib
import dataclasses
import logging
import threading
import time
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError

from .retention_store import testing

_logger = logging.getLogger(__name__)

# Wall seconds of work per unit of work of a cron worker, whose limits are
# 120 s of wall time and 60 s of CPU (Odoo's defaults): a call stops before
# a chunk that would end past what is left of it (at L the longest single
# chunk, the final ranking of a million customers, takes 45 s).
CRON_BUDGET = 20
# A job waits this many seconds for another worker's recompute of a company
# to end (RetentionBusyError after that), then comes back this much later.
CRON_LOCK_WAIT = 10
BUSY_RETRY = timedelta(minutes=5)


class RetentionBusyError(UserError):
    """Another worker holds the company's lock (its recompute, its planning
    of calls): the work is for a little later, nothing failed."""


@dataclasses.dataclass
class Progress:
    """What one unit of work on an item did, and what is left of the item."""

    done: int = 1
    remaining: int = 0


# The unit of work of the calls of this thread: Odoo's runner makes the
# calls of one unit on one cursor, and each unit on a new one.
_unit = threading.local()


def _unit_started(cr):
    """When the unit of work of this call began. In tests, whose cursor is
    shared by the whole class, each call is a unit of its own."""
    if testing() or getattr(_unit, "cr", None) is not cr:
        _unit.cr, _unit.started = cr, time.monotonic()
    return _unit.started


@contextlib.contextmanager
def isolated(cr, committing):
    """One unit of work of a cron whose failure undoes only itself: with
    ``committing`` (a real cron) what came before is committed first and a
    failure is rolled back; otherwise (tests, whose cursor may not commit)
    the unit runs in a savepoint."""
    if not committing:
        with cr.savepoint():
            yield
        return
    # A cron's unit of work: what came before is kept whatever happens to
    # this one (the crons' own isolation; never called in a request).
    cr.commit()  # pylint: disable=invalid-commit
    try:
        yield
    except Exception:
        cr.rollback()
        raise


def call(env, job, todo, work, failed, busy_retry=BUSY_RETRY):
    """One call of the scheduled job ``job`` (its XML id) on ``todo``, the
    items due in order: ``work(item, budget)`` on the first one that is not
    busy, within about ``budget`` seconds, returns its :class:`Progress`.
    ``failed(item, error)`` logs and records a failure, after the unit is
    rolled back. A busy item is left for this job's call ``busy_retry``
    later (None: its next regular call) and the next item is tried."""
    cron = env.ref(job)
    started = _unit_started(env.cr)
    committing = not testing()
    for index, item in enumerate(todo):
        call_started = time.monotonic()
        budget = max(0.0, started + CRON_BUDGET - call_started)
        try:
            with isolated(env.cr, committing):
                progress = work(item, budget)
        except RetentionBusyError:
            _logger.info("%s: %s is busy, retried later", cron.name, item.display_name)
            if busy_retry:
                cron._trigger(fields.Datetime.now() + busy_retry)
            continue
        except Exception as error:  # noqa: BLE001 (one item's failure must not stop the others)
            failed(item, error)
            progress = Progress()
        remaining = progress.remaining + len(todo) - index - 1
        if remaining and not _room_for_another(started, call_started):
            # This unit of work is spent: the rest in a new one.
            cron._trigger()
            remaining = 0
        _report(env, progress.done, remaining)
        return
    _report(env, 0, 0)


def _room_for_another(started, call_started):
    """Whether another call as long as this one fits in the unit's budget."""
    now = time.monotonic()
    return (now - started) + (now - call_started) < CRON_BUDGET


def _report(env, done, remaining):
    # Odoo reads 0 done with work remaining as a job that reports no
    # progress, and stops calling it.
    if remaining:
        done = max(done, 1)
    env["ir.cron"]._notify_progress(done=done, remaining=remaining)
