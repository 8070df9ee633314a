"""``flux worker [--workers N] [-v 2]``: a Huey consumer with our settings, plus the reaper.

The consumer is started the way Huey's own ``run_huey`` starts it (options
from ``settings.HUEY["consumer"]``, ``--workers`` overriding the thread
count). A thread runs ``executions.core.schedules.scheduler_loop`` (schedules' fires), and
one ``executions.core.runner.reaper_loop``, which recovers
executions whose worker died and re-sends lost queue messages, and writes this
worker's heartbeat row (``executions/core/workers.py``) on each pass. SIGINT stops
gracefully (running tasks finish), SIGTERM at once (the reaper of another
worker recovers what was running); the reaper stops with the consumer. Huey's
per-task INFO lines are shown with ``-v 2`` only.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.utils.module_loading import autodiscover_modules

from executions.cli.common import EXIT_OK, at_least, verb
from executions.core import registry

log = logging.getLogger(__name__)


def add_parser(verbs: Any) -> None:
    verb(verbs, "worker", "run a worker (Huey consumer and reaper)", handle).add_argument(
        "--workers", type=int, metavar="N",
        help="worker threads (default: settings.HUEY['consumer']['workers'])")


def consumer_options(workers: int | None) -> dict[str, Any]:
    options = dict((settings.HUEY or {}).get("consumer", {}) if isinstance(settings.HUEY, dict)
                   else {})
    if workers is not None:
        options["workers"] = at_least(workers, "--workers")
    return options


def check_ready(command: Any) -> None:
    """System checks (a broken workflow module stops us here), then the workflow table."""
    command.check(display_num_errors=False)
    result = registry.sync_workflows()
    command.stdout.write(str(result))


def handle(command: Any, options: dict[str, Any]) -> int:
    from huey.consumer_options import ConsumerConfig
    from huey.contrib.djhuey import HUEY

    config = ConsumerConfig(**consumer_options(options["workers"]))
    config.validate()
    size_connection_pool(config.workers)
    check_ready(command)
    autodiscover_modules("tasks")
    logger = logging.getLogger("huey")
    if not logger.handlers and not logging.getLogger().handlers:
        config.setup_logger(logger)

    if options.get("verbosity", 1) < 2:
        # Huey logs two INFO lines per task ("Executing ...", "... executed in"): hundreds
        # a second on a busy worker, saying less than the execution's own log. Shown
        # with -v 2; Huey's warnings and errors, and the consumer's own lines, stay.
        logging.getLogger("huey").addFilter(_no_per_task_info)
    stop = threading.Event()
    reaper = threading.Thread(target=_reap, args=(stop, config.workers), name="flux-reaper",
                              daemon=True)
    reaper.start()
    from executions.core import schedules

    scheduler = threading.Thread(target=schedules.scheduler_loop, args=(stop,),
                                 name="flux-scheduler", daemon=True)
    scheduler.start()
    consumer = HUEY.create_consumer(**config.values)
    try:
        consumer.run()
    finally:
        stop.set()
        reaper.join(timeout=5)
        scheduler.join(timeout=5)
    return EXIT_OK


def size_connection_pool(threads: int, alias: str = "default") -> None:
    """Make the database connection pool (PostgreSQL) big enough for this worker.

    Each worker thread keeps a connection between messages, and the reaper needs
    one: with fewer in the pool, threads wait for one (up to the pool's timeout,
    then the message fails and the reaper re-sends it 30 s later).
    """
    from django.db import connections

    pool = getattr(connections[alias], "pool", None)
    if pool is None:
        return
    needed = threads + 3  # the worker threads, the reaper, the scheduler, the checks
    if pool.max_size < needed:
        pool.resize(min(pool.min_size, needed), needed)


def _no_per_task_info(record: logging.LogRecord) -> bool:
    return record.levelno > logging.INFO


def _reap(stop: threading.Event, threads: int) -> None:
    """The reaper's thread: this worker's heartbeat (executions/core/workers.py), then a
    pass of the reaper, every 2 s; the heartbeat row is removed on the way out."""
    from datetime import UTC, datetime

    from django.db import connections

    from executions.core import runner, workers
    from flux.engine import worker_name

    name, started = worker_name(), datetime.now(UTC)
    host, _, pid = name.rpartition(":")

    def beat() -> None:
        workers.beat(name, host, int(pid), threads, started)

    try:
        runner.reaper_loop(stop=stop, each_pass=beat)
    except Exception:
        log.exception("flux: the reaper stopped")
    finally:
        try:
            workers.gone(name)
        except Exception:
            log.exception("flux: could not remove this worker's heartbeat row")
        connections.close_all()
