"""Optuna storages: a journal file in the run folder, or a shared database with heartbeats.

Creating the schema of a fresh PostgreSQL database from several workers at once races;
`make_storage` retries it, and turns an unreachable server or a missing driver into a
UsageError that hides the password.
"""
from __future__ import annotations

import os
import warnings

from bench.errors import UsageError


def make_storage(url: str | None, run_dir: str):
    """An Optuna storage: the URL given (RDB with heartbeat) or a journal file in the run."""
    import optuna

    if url:
        if url.startswith(("sqlite", "postgresql", "mysql", "oracle", "mssql")):
            return _rdb_storage(url)
        return url
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(
        JournalFileBackend(os.path.join(run_dir, "optuna.journal")))


def _rdb_storage(url: str, attempts: int = 6):
    """RDBStorage with heartbeats; retried while workers race to create a fresh schema.

    Workers started together on an empty database all create Optuna's tables, enum types,
    version row and alembic stamp; the losers fail with an integrity or "already exists"
    error, and a retry finds the winner's schema committed.
    """
    import random
    import time

    import optuna
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import make_url

    from bench.tune import retry_interrupted  # a dead worker's trial is retried

    attempt = 0
    while True:
        attempt += 1
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, heartbeat_interval=5, grace_period=20,
                    heartbeat_stale_trial_callback=retry_interrupted,
                    engine_kwargs={} if url.startswith("sqlite") else {"pool_pre_ping": True})
        except (sa_exc.IntegrityError, sa_exc.ProgrammingError,
                sa_exc.OperationalError) as exc:
            if attempt < attempts and not _unreachable(exc):
                time.sleep(random.uniform(0.2, 1.0) * attempt)
                continue
            raise UsageError(_storage_problem(make_url(url), exc)) from exc
        except ImportError as exc:
            raise UsageError(_storage_problem(make_url(url), exc)) from exc


def _unreachable(exc: Exception) -> bool:
    """A connection that cannot be made (retrying a schema race will not help)."""
    from sqlalchemy import exc as sa_exc

    text = str(exc).lower()
    return isinstance(exc, sa_exc.OperationalError) and any(s in text for s in (
        "connection refused", "could not translate host", "password authentication failed",
        "does not exist", "no such host", "timeout expired"))


def _storage_problem(url, exc: Exception) -> str:
    return (f"--storage {url.render_as_string(hide_password=True)}: cannot open the Optuna "
            f"storage ({type(exc).__name__}: {str(exc).splitlines()[0]}); fix: check that "
            f"the database server is up and the URL is right "
            f"(postgresql+psycopg://user:password@host:5432/dbname), and install the driver "
            f"(pip install 'bench[postgres]')")
