# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The steps of a company's nightly run, one per phase (the order of the
phases and which runs go through them: retention_run.PHASES).

Each step does one bounded chunk of its phase for ``run`` (a
``retention.run`` record) and returns the run's new values and whether its
phase is done; the run writes them and commits them with the chunk. The
phases over chunks of customers (:class:`Chunked`) also give their chunks
one by one to queue_job's workers (retention_run_queue). First
the customers' values, chunk by chunk, each chunk with its customers'
stored ranks; then everybody ranked again at once (peer ranks need
everybody's revenue), from the stored rows alone; then, for a run of today,
the outlook and Retention Analysis. Once Retention Analysis was first
built, today's chunks of values read each customer's documents once, as
visits, and bring it up to date from them too (their transactions are
engine ``visit_transactions`` of the visits).
"""

import hashlib
import logging
import time

import numpy as np
import pandas as pd

from odoo import fields

from ..engine import (
    RANK_COLUMNS,
    compute_metrics,
    daily_figures,
    fit_models,
    model_records,
    rerank,
    score,
)
from ..engine.history import visit_transactions
from ..engine.judgement import judge
from ..engine.predict import SAMPLE
from . import retention_history, retention_store, retention_summary

_logger = logging.getLogger(__name__)

# The seed of the sample the models are fitted on: the same customers from
# one night to the next while they stay.
PREDICTION_SEED = 0
# The outlook's models are fitted again once they are this many days old
# (the system parameter REFIT_PARAM changes it; 1: every night), or as soon
# as what shapes them changes (:func:`_models_inputs`). In between, every
# night scores with them: a week of new orders barely moves the parameters
# of a population model, while fitting is most of a quiet night's outlook.
REFIT_DAYS = 7
REFIT_PARAM = "customer_retention.refit_days"


def _history_day(run, as_of):
    """The day the status changes of a recompute as of ``as_of`` are
    recorded on, or None: not before the company's first whole run (its
    customers' first statuses are no change; the months before are
    reconstructed from the orders, see retention.status.month)."""
    return as_of if run.last_run else None


def _now():
    return fields.Datetime.now().replace(microsecond=0)


def refit_days(env):
    """Days after which the outlook's models are fitted again (REFIT_PARAM,
    REFIT_DAYS when unset; a value that is not a whole number of days is
    logged and REFIT_DAYS used: the night goes on)."""
    # sudo: a system parameter, read by the nightly run of any user
    value = env["ir.config_parameter"].sudo().get_param(REFIT_PARAM) or ""
    try:
        days = int(value) if value.strip() else REFIT_DAYS
    except ValueError:
        _logger.warning(
            "System parameter %s is not a number of days (%r): the outlook's "
            "models are fitted again every %s days.",
            REFIT_PARAM,
            value,
            REFIT_DAYS,
        )
        return REFIT_DAYS
    return max(days, 1)


def _models_inputs(company):
    """A digest of what shapes the company's models besides its history:
    the horizon, the thresholds in use (calibrated ones included) and
    calibrated mode's judgement."""
    inputs = repr(
        (
            company.retention_predict_horizon_days,
            company._retention_settings(),
            company._retention_judgement(),
        )
    )
    return hashlib.sha1(inputs.encode()).hexdigest()[:16]  # noqa: S324 (a key)


def models_current(run):
    """Whether the run's models still serve for its day: fitted as of a day
    fewer than :func:`refit_days` days before it, on the same inputs. No
    model (too few customers, say) serves no day: fitting again is cheap
    then, and a shop whose history is imported after installing gets its
    numbers the next night."""
    # sudo: the run's own models
    run = run.sudo()
    params = run.prediction_params
    if not params or not run.prediction_fitted_at or params.get("no_prediction"):
        return False
    if params.get("inputs") != _models_inputs(run.company_id):
        return False
    # The day they were fitted as of (the company's today then).
    fitted_on = fields.Date.to_date(params.get("fitted_as_of"))
    if not fitted_on:
        return False
    return 0 <= (run.as_of - fitted_on).days < refit_days(run.env)


def fit(run, stats):
    """Today's first phase: fit the outlook's models on a sample of the
    stored customers and of those whose documents changed since, so that
    each chunk of values is scored with the transactions it has just read
    (unless the models fitted on an earlier night still serve:
    :func:`models_current`). Nothing stored yet (the first night): the
    models are fitted after ranking (:func:`refit`)."""
    started = time.perf_counter()
    values = {}
    company = run.company_id
    if models_current(run):
        # Scored with the models of an earlier night, if there is anybody.
        return {"models_fitted_first": retention_store.any_stored(company)}, True
    # With those whose documents changed since the last run (a first-time
    # buyer has no row yet): the customers a recompute from scratch fits on.
    since = run._changed_since()
    changed = retention_store.changed_customers(company, since) if since else []
    sample = retention_store.sample_customers(
        company, SAMPLE, PREDICTION_SEED, also=changed
    )
    if sample:
        values = fit_outlook(run, run.as_of, sample=sample)
        values["models_fitted_first"] = True
    stats["fit_s"] += time.perf_counter() - started
    stats["predict_s"] += time.perf_counter() - started
    return values, True


def of_today(run):
    """The outlook and Retention Analysis are of today: a back-test as of a
    past day does without them."""
    return run.as_of == run.company_id._retention_today()


def _history_with_values(run):
    """Whether the values' chunks bring Retention Analysis up to date as
    well, from the documents they read: a run of today once Retention
    Analysis was built. Its first build (and a rebuild after a change of
    the sources), heavier, has chunks of its own: the ``history`` phase's,
    which otherwise only ends it."""
    return of_today(run) and bool(run.report_until)


def _chunk_metrics(run, chunk, transactions=None):
    """(transactions, metrics, when the extract ended) of the customers of
    ``chunk``: their transactions read once (unless given), their values
    computed with the company's settings and their stored ranks."""
    company, as_of = run.company_id, run.as_of
    if transactions is None:
        transactions = retention_store.extract_transactions(company, as_of, chunk=chunk)
    ranks = retention_store.stored_ranks(company, chunk)
    settings = company._retention_settings()
    groups = company._retention_status_groups(
        settings, transactions["partner_id"].unique()
    )
    extracted = time.perf_counter()
    metrics = compute_metrics(transactions, as_of, settings, groups=groups, ranks=ranks)
    return transactions, metrics, extracted


def _compute_begin(run, stats):
    """Before the values' first chunk, when they bring Retention Analysis
    up to date too: drop what an interrupted run left half-built."""
    if _history_with_values(run):
        retention_history.begin(run.company_id)


def _compute_chunk(run, chunk, stats):
    """Compute and write the customers of ``chunk``, scored in passing when
    the run fitted the outlook's models first, and their Retention Analysis
    from the same documents (:func:`_history_with_values`); returns the
    rows written."""
    started = time.perf_counter()
    company, as_of = run.company_id, run.as_of
    visits = transactions = None
    if _history_with_values(run):
        # One read of the chunk's documents for both.
        visits = retention_history.extract_visits(company, as_of, chunk=chunk)
        transactions = visit_transactions(visits, company.id)
    transactions, metrics, extracted = _chunk_metrics(run, chunk, transactions)
    predictions = None
    if run.models_fitted_first:
        # The outlook from the transactions just read: no second extract;
        # in calibrated mode it decides the statuses before they are written.
        scoring = time.perf_counter()
        metrics, predictions = judged_values(run, as_of, transactions, metrics)
        stats["predict_s"] += time.perf_counter() - scoring
    computed = time.perf_counter()
    history_day = _history_day(run, as_of)
    written = retention_store.write_metrics(
        company, metrics, _now(), history_day=history_day
    )
    cleared = retention_store.clear_stale(
        company, metrics["partner_id"].to_numpy(), chunk=chunk, history_day=history_day
    )
    if predictions is not None:
        retention_store.write_predictions(company, predictions)
    stats.update(
        customers=stats["customers"] + len(metrics),
        written=stats["written"] + written,
        cleared=stats["cleared"] + cleared,
        extract_s=stats["extract_s"] + extracted - started,
        engine_s=stats["engine_s"] + computed - extracted,
        write_s=stats["write_s"] + time.perf_counter() - computed,
    )
    if visits is not None:
        _history_of(run, chunk, visits, transactions, stats)
    return written


def _rank_begin(run, stats):
    """Rank every stored customer again, together, and stage the rows whose
    rank, tier, profile, alert or action changed for the chunks to write."""
    started = time.perf_counter()
    company, as_of = run.company_id, run.as_of
    rows, groups = retention_store.rank_inputs(company)
    ranked = rerank(rows, as_of, company._retention_settings(), groups=groups)
    changed = np.zeros(len(ranked), dtype=bool)
    for column in RANK_COLUMNS:
        before = rows[column].astype(object).to_numpy()
        after = ranked[column].astype(object).to_numpy()
        changed |= ~((before == after) | (pd.isna(before) & pd.isna(after)))
    del rows
    retention_store.stage_ranks(company, ranked[changed])
    stats["rank_s"] += time.perf_counter() - started


def _rank_chunk(run, chunk, stats):
    """Write the staged ranks of the customers of ``chunk``; returns how
    many rows the run had not written before."""
    started = time.perf_counter()
    _written, fresh = retention_store.write_ranks(
        run.company_id, chunk, _now(), run.started
    )
    stats["written"] += fresh
    stats["rank_s"] += time.perf_counter() - started
    return fresh


def _rank_end(run, stats):
    retention_store.drop_ranks(run.company_id)
    return {}


def refit(run, stats):
    """The first night's outlook, once everybody is ranked: the models
    fitted on a sample of the customers just stored (kept when those of
    an earlier night still serve)."""
    if models_current(run):
        return {}, True
    started = time.perf_counter()
    values = fit_outlook(run, run.as_of)
    stats["fit_s"] += time.perf_counter() - started
    stats["predict_s"] += time.perf_counter() - started
    return values, True


def _predict_chunk(run, chunk, stats):
    """Score the customers of ``chunk`` with the models just fitted (after
    :func:`refit`)."""
    started = time.perf_counter()
    company, as_of = run.company_id, run.as_of
    if company._retention_judged_by_chance():
        # Calibrated mode: the chance decides the statuses, written with it.
        transactions, metrics, _extracted = _chunk_metrics(run, chunk)
        metrics, predictions = judged_values(run, as_of, transactions, metrics)
        retention_store.write_metrics(
            company, metrics, _now(), history_day=_history_day(run, as_of)
        )
        retention_store.write_predictions(company, predictions)
    else:
        score_outlook(run, as_of, chunk=chunk)
    stats["predict_s"] += time.perf_counter() - started
    return 0


def _history_begin(run, stats):
    """Before Retention Analysis's first chunk of its own: drop what an
    interrupted run left half-built."""
    retention_history.begin(run.company_id)


def _history_refresh(run, chunk):
    """The customers of ``chunk`` whose purchases differ from those the
    last run of Retention Analysis saw: their documents changed since it
    started, or one dated from its day on came into view. None: all of
    them (the first time, or after a change of the sources)."""
    if not run.report_until:
        return None
    company = run.company_id
    changed = retention_store.changed_customers(company, run.report_until, chunk=chunk)
    dated = retention_store.dated_customers(
        company, company._retention_local_date(run.report_until), run.as_of, chunk
    )
    return sorted(set(changed).union(dated))


def _history_chunk(run, chunk, stats):
    """Retention Analysis's own chunk (its first build, or after a change
    of the sources): the customers of ``chunk``, their documents read."""
    visits = retention_history.extract_visits(run.company_id, run.as_of, chunk=chunk)
    _history_of(run, chunk, visits, None, stats)
    return 0


def _history_of(run, chunk, visits, transactions, stats):
    """Bring Retention Analysis up to date for the customers of ``chunk``,
    whose ``visits`` (and ``transactions``, when read) are given: their
    period report rows and their summary where their purchases changed
    since the last run (all of them the first time), their share of the
    pulse tables, and the first time, their statuses at the past month
    ends."""
    started = time.perf_counter()
    company, as_of = run.company_id, run.as_of
    refresh = _history_refresh(run, chunk)
    retention_history.refresh_report(
        company, visits, as_of, partner_ids=refresh, chunk=chunk
    )
    retention_history.add_pulse(company, visits)
    if refresh is None:
        retention_summary.write(company, visits, chunk=chunk)
    elif refresh:
        # A summary is of the customer's purchases alone (not of the day):
        # the others' are as the last run left them.
        retention_summary.write(
            company,
            visits[visits["partner_id"].isin(refresh)],
            partner_ids=refresh,
        )
    if not run.months_built:
        days = retention_history.months_to_rebuild(
            company, as_of, company.retention_history_years
        )
        if days:
            if transactions is None:
                transactions = visit_transactions(visits, company.id)
            settings = company._retention_settings()
            retention_history.add_status_months(
                company,
                transactions,
                days,
                settings,
                groups=company._retention_status_groups(
                    settings, transactions["partner_id"].unique()
                ),
            )
    stats["history_s"] += time.perf_counter() - started


def _history_end(run, stats):
    """After Retention Analysis's last chunk: the chunks' shares summed and
    swapped in, the settled periods, the bookkeeping purged."""
    started = time.perf_counter()
    company, as_of = run.company_id, run.as_of
    retention_history.settle_report(company, as_of)
    retention_summary.rebuild_category_gap(company)
    retention_history.finish(company, as_of, rebuilt_months=not run.months_built)
    run.env["retention.status.change"]._purge(
        company, company.retention_history_years, as_of
    )
    run.env["retention.moved.customer"]._purge()
    stats["history_s"] += time.perf_counter() - started
    return {"report_until": run.started, "months_built": True}


class Chunked:
    """A phase done chunk by chunk of commercial partners (ids in order):
    ``begin(run, stats)`` before the first chunk, ``work(run, chunk, stats)`` on
    each (returns the rows it wrote), ``end(run, stats)`` after the last
    (returns the run's new values). Its chunks are independent: the daily
    job does them one after the other (:meth:`step`), queue_job's workers
    side by side (retention_run_queue)."""

    def __init__(self, size, work, begin=None, end=None, done_before=None):
        self.size, self.work, self.begin, self.end = size, work, begin, end
        # done_before(run): another phase did the chunks' work; only the end
        self.done_before = done_before

    def only_end(self, run):
        """Whether the phase is only its end for ``run``."""
        return bool(self.done_before and self.done_before(run))

    def chunk_size(self):
        # Read when used: the tests make chunks of one customer.
        return getattr(retention_store, self.size)

    def step(self, run, stats):
        """The next chunk after the run's position: (values, phase done)."""
        if self.only_end(run):
            return (self.end(run, stats) if self.end else {}), True
        chunk = retention_store.next_chunk(
            run.company_id, run.cursor, self.chunk_size()
        )
        if self.begin and not chunk[0]:
            self.begin(run, stats)
        values = {"written": run.written + self.work(run, chunk, stats)}
        if chunk[1] is not None:
            values["cursor"] = chunk[1]
            return values, False
        if self.end:
            values.update(self.end(run, stats))
        return values, True

    __call__ = step

    def chunks(self, company):
        """Every chunk of the phase, in order, as (after, last)."""
        chunks, after = [], 0
        while True:
            chunk = retention_store.next_chunk(company, after, self.chunk_size())
            chunks.append(chunk)
            if chunk[1] is None:
                return chunks
            after = chunk[1]


compute = Chunked("CHUNK_CUSTOMERS", _compute_chunk, _compute_begin)
rank = Chunked("CHUNK_CUSTOMERS", _rank_chunk, _rank_begin, _rank_end)
predict = Chunked("CHUNK_CUSTOMERS", _predict_chunk)
history = Chunked(
    "CHUNK_HISTORY",
    _history_chunk,
    _history_begin,
    _history_end,
    done_before=_history_with_values,
)


# ------------------------------------------------------------
# The outlook: fitted by the run, used by every recompute
# ------------------------------------------------------------


def fit_outlook(run, as_of, sample=None):
    """Fit the company's models as of ``as_of`` on up to SAMPLE of its
    customers (the same ones night after night while they stay; those of
    ``sample`` when the caller has drawn them); the run's values that keep
    them."""
    company = run.company_id
    if sample is None:
        sample = retention_store.sample_customers(company, SAMPLE, PREDICTION_SEED)
    transactions = retention_store.extract_transactions(
        company, as_of, partner_ids=sample
    )
    horizon = company.retention_predict_horizon_days
    # Calibrated mode judged by the chance: the combined model, with the
    # label (when a customer counts as gone) the back-test chose.
    judgement = company._retention_judged_by_chance()
    models = fit_models(
        transactions,
        as_of,
        company._retention_settings(),
        horizon_days=horizon,
        label_factor=judgement.label_factor if judgement else None,
    )
    del transactions
    records = model_records(models)
    params = records[0] if records else {}
    # No customer at all is too few customers too.
    params = {
        "company_id": company.id,
        "no_prediction": "too_few_customers",
        "horizon_days": horizon,
        **params,
        "inputs": _models_inputs(company),
        "fitted_as_of": fields.Date.to_string(as_of),
    }
    return {
        "prediction_params": params,
        "prediction_fitted_at": fields.Datetime.now(),
        "prediction_model": params.get("model") or False,
        "prediction_no_model": params.get("no_prediction") or False,
        "prediction_bgnbd_auc": params.get("bgnbd_auc") or 0.0,
        "prediction_rhythm_auc": params.get("rhythm_auc") or 0.0,
    }


def judged_values(run, as_of, transactions, metrics):
    """(metrics, predictions) of the customers of ``transactions``: their
    chance of return with the run's models and, in calibrated mode judged
    by the chance, their statuses decided by it (engine ``judge``: status
    and chance never contradict). Without models: (metrics, None)."""
    company = run.company_id
    # sudo: the run's own models
    params = run.sudo().prediction_params
    if not params:
        return metrics, None
    settings = company._retention_settings()
    predictions = score(transactions, as_of, [params], settings, metrics=metrics)
    judgement = company._retention_judged_by_chance()
    if judgement:
        metrics = judge(metrics, predictions, judgement, as_of, settings)
    return metrics, predictions


def score_outlook(run, as_of, chunk=None, transactions=None, metrics=None):
    """Score the customers of ``chunk`` (or those of ``transactions``, with
    their ``metrics`` rows) with the run's models and write their outlook
    where it changed; returns the rows written. Nothing without models."""
    company = run.company_id
    # sudo: the run's own models
    params = run.sudo().prediction_params
    if not params:
        return 0
    if transactions is None:
        transactions = retention_store.extract_transactions(company, as_of, chunk=chunk)
    if metrics is None and params.get("model") == "rhythm":
        # The rhythm model's features are the rows the run just stored.
        metrics = daily_figures(
            retention_store.stored_features(company, chunk=chunk), as_of
        )
    predictions = score(
        transactions, as_of, [params], company._retention_settings(), metrics=metrics
    )
    return retention_store.write_predictions(company, predictions)


# ------------------------------------------------------------
# Outside the phases: named customers at once
# ------------------------------------------------------------


def recompute_partners(run, as_of, partner_ids, nothing_done):
    """Recompute ``partner_ids`` only, ranked against the stored revenue of
    the others in their groups, scored with the models of the last run;
    returns the figures (``nothing_done`` filled in)."""
    started = time.perf_counter()
    company = run.company_id
    settings = company._retention_settings()
    now = _now()
    # The extract reads with SQL: pending ORM writes must reach the database.
    run.env.flush_all()
    transactions = retention_store.extract_transactions(
        company, as_of, partner_ids=partner_ids
    )
    extracted = time.perf_counter()
    groups = retention_store.extract_groups(
        company, transactions["partner_id"].unique()
    )
    peers = retention_store.peer_counter(company, exclude_ids=partner_ids)
    metrics = compute_metrics(transactions, as_of, settings, groups=groups, peers=peers)
    predictions = None
    predict_s = 0.0
    if as_of == company._retention_today():
        # With the models of the last run (a fit is the nightly run's); in
        # calibrated mode the chance decides the statuses before the write.
        scoring = time.perf_counter()
        metrics, predictions = judged_values(run, as_of, transactions, metrics)
        predict_s = time.perf_counter() - scoring
    computed = time.perf_counter()
    # A recompute asked for these customers stamps them all: "computed on"
    # shows it happened even where nothing changed.
    history_day = _history_day(run, as_of)
    written = retention_store.write_metrics(
        company, metrics, now, rewrite=True, history_day=history_day
    )
    cleared = retention_store.clear_stale(
        company,
        metrics["partner_id"].to_numpy(),
        partner_ids=partner_ids,
        history_day=history_day,
    )
    if predictions is not None:
        retention_store.write_predictions(company, predictions)
    if as_of == company._retention_today():
        # The summary is of today (a back-test as of a past day leaves it).
        visits = retention_history.extract_visits(
            company, as_of, partner_ids=partner_ids
        )
        retention_summary.write(company, visits, partner_ids=partner_ids)
        for model in ("retention.partner.category", "retention.partner.state"):
            run.env[model].invalidate_model()
    stats = dict(
        nothing_done,
        customers=len(metrics),
        written=written,
        cleared=cleared,
        chunks=1,
        predict_s=predict_s,
        extract_s=extracted - started,
        engine_s=computed - extracted,
        write_s=time.perf_counter() - computed,
    )
    stats["longest_chunk_s"] = time.perf_counter() - started
    return stats
