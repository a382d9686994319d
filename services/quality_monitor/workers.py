"""Several checking processes in one monitor service (``STREAMMESH_MONITOR_WORKERS``).

Checking is CPU-bound Python, so one process checks on one core. With N workers, the service
spawns N processes, each running its own `QualityMonitor` in the monitor's consumer group:
Kafka splits the partitions between them, and each checks, dead-letters and commits its own,
with the same at-least-once guarantee as a single process. Every `REPORT_SECONDS` a worker sends
the service a `Report` (its metric families, its products' statuses, whether it is caught up);
the service serves them as one monitor:

- counters and histograms are summed (a `_created` sample keeps the earliest);
- freshness is the smallest of the workers' (each sees its own partitions), aged to the scrape;
  lag is summed; a product is available only if every worker found it so;
- ready only when every worker is alive and caught up with its own partitions.

A worker that dies is started again (after 1 s, doubling up to `_RESTART_MAX_SECONDS` while it
keeps dying young); its partitions go to the other workers meanwhile, as in any consumer group.
Its last report's counters and histograms are kept and added to the new worker's, so every
merged counter only grows, as Prometheus expects of a counter that is not reset.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from services.quality_monitor.metrics import (
    AVAILABLE,
    FRESHNESS,
    LAG,
    READY,
    MonitorMetrics,
)
from services.quality_monitor.monitor import ProductStatus, QualityMonitor, tune_garbage_collector
from services.quality_monitor.settings import MonitorSettings

log = logging.getLogger(__name__)

REPORT_SECONDS: Final = 0.25
_JOIN_SECONDS: Final = 30.0
_SUPERVISE_SECONDS: Final = 0.5
_RESTART_MIN_SECONDS: Final = 1.0
_RESTART_MAX_SECONDS: Final = 30.0
_CUMULATIVE: Final = frozenset({"counter", "histogram", "summary"})

SampleKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class Report:
    """What one worker tells the service, as of `at` (seconds since the epoch)."""

    worker: int
    at: float
    alive: bool
    ready: bool
    families: Sequence[Metric] = ()
    statuses: Sequence[ProductStatus] = ()


def run_worker(
    worker: int,
    settings: MonitorSettings,
    reports: Connection,
    stop: Event,
    interval: float = REPORT_SECONDS,
) -> None:
    """A worker process: one `QualityMonitor`, reported every `interval` seconds until `stop`
    is set or the service goes away."""
    # The service stops its workers through `stop`; a Ctrl-C reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format=f"%(asctime)s %(levelname)s %(name)s[worker {worker}] %(message)s",
    )
    for noisy in ("httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tune_garbage_collector()
    registry = CollectorRegistry()
    metrics = MonitorMetrics(registry)
    monitor = QualityMonitor(settings, metrics)
    metrics.watch(monitor.snapshot)
    monitor.start()
    try:
        while True:
            reports.send(
                Report(
                    worker,
                    time.time(),
                    monitor.alive,
                    monitor.ready,
                    list(registry.collect()),
                    monitor.statuses(),
                )
            )
            if not monitor.alive or stop.wait(interval):
                break
    except (BrokenPipeError, EOFError, OSError):  # the service is gone: stop checking
        pass
    finally:
        monitor.stop()
        metrics.close()
        reports.close()


@dataclass(slots=True)
class _Worker:
    index: int
    process: BaseProcess
    reports: Connection
    started: float  # time.monotonic() at its start
    latest: Report | None = None
    reader: threading.Thread | None = field(default=None, repr=False)
    restart_delay: float = _RESTART_MIN_SECONDS


def retired_together(reports: Sequence[Report]) -> Report:
    """Reports of dead workers (`retired`) as one: their counts summed."""
    return Report(
        -1,
        max(r.at for r in reports),
        alive=False,
        ready=True,
        families=[
            f for f in merge_families(reports, time.time(), ready=True) if f.type in _CUMULATIVE
        ],
        statuses=merge_statuses(reports, time.time()),
    )


def retired(report: Report) -> Report:
    """What a dead worker's last report still counts for: its counters and histograms, and its
    products' checked and failed records; nothing of its gauges."""
    return Report(
        report.worker,
        report.at,
        alive=False,
        ready=True,
        families=[f for f in report.families if f.type in _CUMULATIVE],
        statuses=[
            replace(s, subscribed=False, available=None, freshness_seconds=None, lag_records=None)
            for s in report.statuses
        ],
    )


class WorkerPool:
    """N worker processes seen as one monitor: `ready`, `alive`, `statuses()` and their
    metrics on `registry` (registered by `start`, unregistered by `stop`)."""

    def __init__(
        self,
        settings: MonitorSettings,
        registry: CollectorRegistry,
        *,
        report_seconds: float = REPORT_SECONDS,
    ) -> None:
        self.settings = settings
        self._report_seconds = report_seconds
        self._registry = registry
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._stop = self._context.Event()
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._retired: list[Report] = []  # what dead workers counted, see `retired`
        self._supervisor: threading.Thread | None = None
        self.restarts = 0
        self._collector = _MergedCollector(self._all_reports, lambda: self.ready)

    def start(self) -> None:
        self._workers = [self._spawn(n) for n in range(self.settings.workers)]
        self._registry.register(self._collector)
        self._supervisor = threading.Thread(
            target=self._supervise, name="quality-monitor-supervisor", daemon=True
        )
        self._supervisor.start()

    def _spawn(self, n: int) -> _Worker:
        receiving, sending = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_worker,
            args=(n, self.settings, sending, self._stop, self._report_seconds),
            name=f"quality-monitor-{n}",
            daemon=True,
        )
        process.start()
        sending.close()
        worker = _Worker(n, process, receiving, time.monotonic())
        worker.reader = threading.Thread(
            target=self._read, args=(worker,), name=f"quality-monitor-{n}-reports", daemon=True
        )
        worker.reader.start()
        return worker

    def _supervise(self) -> None:
        """Start each worker that died again, after its delay; until `stop`."""
        dead_since: dict[int, float] = {}
        while not self._stop.wait(_SUPERVISE_SECONDS):
            for position, worker in enumerate(list(self._workers)):
                if worker.process.is_alive():
                    continue
                now = time.monotonic()
                since = dead_since.setdefault(worker.index, now)
                if now - since < worker.restart_delay:
                    continue
                del dead_since[worker.index]
                self._restart(position, worker, since)

    def _restart(self, position: int, worker: _Worker, died: float) -> None:
        log.error(
            "worker %s exited with %s; starting it again",
            worker.process.name,
            worker.process.exitcode,
        )
        if worker.reader is not None:
            worker.reader.join(5)
        worker.reports.close()
        # Dying young doubles the next wait; a worker that ran a while starts over at 1 s.
        lived = died - worker.started
        delay = _RESTART_MIN_SECONDS
        if lived < _RESTART_MAX_SECONDS:
            delay = min(worker.restart_delay * 2, _RESTART_MAX_SECONDS)
        fresh = self._spawn(worker.index)
        fresh.restart_delay = delay
        with self._lock:
            if worker.latest is not None:
                # One report for all the dead, so restarts do not add to what is kept.
                self._retired = [retired_together([*self._retired, retired(worker.latest)])]
            self._workers[position] = fresh
            self.restarts += 1

    def stop(self, timeout: float = _JOIN_SECONDS) -> None:
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout)
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                log.warning("worker %s did not stop in time", worker.process.name)
                worker.process.terminate()
                worker.process.join(5)
        for worker in self._workers:
            if worker.reader is not None:
                worker.reader.join(5)
            worker.reports.close()
        if self._workers:
            self._registry.unregister(self._collector)
        self._workers = []

    def _read(self, worker: _Worker) -> None:
        while True:
            try:
                report = worker.reports.recv()
            except (EOFError, OSError):  # the worker ended
                return
            with self._lock:
                worker.latest = report

    def reports(self) -> list[Report]:
        """Each worker's latest report (a worker that has not reported yet has none)."""
        with self._lock:
            return [w.latest for w in self._workers if w.latest is not None]

    def _all_reports(self) -> list[Report]:
        """The workers' latest reports, then what dead workers counted before them (merging
        keeps the first report's descriptions of a product, so the live ones come first)."""
        with self._lock:
            return [*(w.latest for w in self._workers if w.latest is not None), *self._retired]

    @property
    def alive(self) -> bool:
        """Checking, or starting a dead worker again: the service itself is up."""
        supervisor = self._supervisor
        return bool(self._workers) and supervisor is not None and supervisor.is_alive()

    @property
    def ready(self) -> bool:
        """Every worker alive and caught up with the partitions assigned to it."""
        reports = self.reports()
        return (
            self.alive
            and all(w.process.is_alive() for w in self._workers)
            and len(reports) == len(self._workers)
            and all(r.alive and r.ready for r in reports)
        )

    def statuses(self) -> list[ProductStatus]:
        """The products the workers follow now, with what dead workers counted of them."""
        live = {status.topic for report in self.reports() for status in report.statuses}
        return [s for s in merge_statuses(self._all_reports(), time.time()) if s.topic in live]


def merge_statuses(reports: Iterable[Report], now: float) -> list[ProductStatus]:
    """Each product's status over every worker's partitions, by topic."""
    merged: dict[str, ProductStatus] = {}
    for report in reports:
        age = max(0.0, now - report.at)
        for status in report.statuses:
            mine = replace(
                status,
                freshness_seconds=None
                if status.freshness_seconds is None
                else status.freshness_seconds + age,
            )
            known = merged.get(status.topic)
            merged[status.topic] = mine if known is None else _combine(known, mine)
    return [merged[topic] for topic in sorted(merged)]


def _combine(a: ProductStatus, b: ProductStatus) -> ProductStatus:
    return replace(
        a,
        subscribed=a.subscribed or b.subscribed,
        available=_all_of(a.available, b.available),
        checked=a.checked + b.checked,
        failed=a.failed + b.failed,
        freshness_seconds=_least(a.freshness_seconds, b.freshness_seconds),
        lag_records=None
        if a.lag_records is None and b.lag_records is None
        else (a.lag_records or 0) + (b.lag_records or 0),
    )


def _all_of(a: bool | None, b: bool | None) -> bool | None:
    if a is None or b is None:
        return a if b is None else b
    return a and b


def _least(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return a if b is None else b
    return min(a, b)


class _MergedCollector(Collector):
    """The workers' metric families as one monitor's."""

    def __init__(self, reports: Callable[[], list[Report]], ready: Callable[[], bool]) -> None:
        self._reports = reports
        self._ready = ready

    def collect(self) -> Iterable[Metric]:
        return merge_families(self._reports(), time.time(), self._ready())


def merge_families(reports: Iterable[Report], now: float, ready: bool) -> list[Metric]:
    """The families of every report merged by name and labels (see the module's doc)."""
    shapes: dict[str, Metric] = {}  # the first family of each name, for its type and help
    values: dict[str, dict[SampleKey, float]] = {}
    for report in reports:
        age = max(0.0, now - report.at)
        for family in report.families:
            shapes.setdefault(family.name, family)
            merged = values.setdefault(family.name, {})
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                value = sample.value + age if family.name == FRESHNESS else sample.value
                known = merged.get(key)
                merged[key] = value if known is None else _merge(family, sample.name, known, value)
    out = []
    for name, shape in shapes.items():
        family = Metric(name, shape.documentation, shape.type, shape.unit)
        if name == READY:
            family.add_sample(READY, {}, 1.0 if ready else 0.0)
        else:
            for (sample_name, labels), value in values[name].items():
                family.add_sample(sample_name, dict(labels), value)
        out.append(family)
    return out


def _merge(family: Metric, sample: str, a: float, b: float) -> float:
    if family.type in ("counter", "histogram", "summary"):
        return min(a, b) if sample.endswith("_created") else a + b
    if family.name in (FRESHNESS, AVAILABLE):
        return min(a, b)
    if family.name == LAG:
        return a + b
    return max(a, b)  # WATCHED: every worker follows the same catalog
