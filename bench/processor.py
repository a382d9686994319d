"""Throughput and latency of the CLTV processor beside plain consuming of the same orders.

Run with `python -m bench.processor [--orders N] [--customers C] [--seconds S] [--workers 1 2]`.
For each number of workers, on fresh topics of a local broker (or `--bootstrap-servers`) and a
registry process:

1. profiles for every customer and a backlog of `--orders` orders are produced;
2. baseline, backlog: that many plain consumers (confluent-kafka + our AvroDeserializer, one
   process each, each assigned its share of the partitions) read and decode the backlog: the
   sum of each one's orders/s through its share; then the same with aiokafka, the client Faust
   consumes with, which tells the client's share of the gap from the processing's;
3. baseline, paced: orders produced at the paced rate for `--seconds`; latency from an order's
   produce time to its decoding;
4. processor, backlog: that many CLTV workers (`python -m domains.marketing.cltv`) process the
   whole backlog (profiles, the backlog, the baseline's paced orders): orders/s from the
   workers' own counts;
5. processor, paced: orders produced at the same rate; latency from an order's produce time to
   the arrival of its customer's new record on `marketing.customer_lifetime_value.v1`, and, as
   the workers themselves measure it (`streammesh_cltv_order_latency_seconds`, to the record
   queued), the bucket that holds its p99.

The paced rate is `--rate`, or 5,000/s per worker capped at 80% of what the processor sustained
in step 4, so latency is measured below saturation. Goals: >= 5,000 orders/s per worker,
p99 < 1 s, >= 0.5 of the baseline. Every client, the workers and the registry sign in to Kafka
as STREAMMESH_SECURITY_PROTOCOL and STREAMMESH_SASL_* say (with `--bootstrap-servers`; a super
user, as the bench makes its own topics and groups).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AIOTopicPartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from domains.customers.generator import DESCRIPTOR as PROFILES
from domains.customers.generator import ProfilesConfig, iter_profiles
from domains.marketing.cltv.metrics import LATENCY as LATENCY_METRIC
from domains.sales.generator import DESCRIPTOR as ORDERS
from domains.sales.generator import OrderEvent, SalesConfig, iter_orders
from streammesh.broker.launcher import free_port
from streammesh.sdk import Mesh, ProductProducer
from streammesh.sdk.topics import TopicSpec, ensure_topics
from streammesh.security import aiokafka_security, kafka_client_config
from streammesh.serde import AvroDeserializer
from streammesh.settings import MeshSettings, registry_client_config
from streammesh.testing.kafka import kafka_for_tests
from streammesh.testing.metrics import samples as metric_samples

ROOT = Path(__file__).resolve().parents[1]
GOAL_PER_WORKER = 5000.0
ORDER_PARTITIONS = 6
COMPACT = {"cleanup.policy": "compact"}


@dataclass(frozen=True)
class Latency:
    count: int
    p50_ms: float
    p99_ms: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Latency:
        if len(samples) < 2:
            return cls(len(samples), float("nan"), float("nan"))
        cuts = statistics.quantiles(samples, n=100, method="inclusive")
        return cls(len(samples), cuts[49], cuts[98])


@dataclass(frozen=True)
class Row:
    workers: int
    baseline_rate: float
    aiokafka_rate: float  # the same consuming and decoding with aiokafka
    processor_rate: float
    paced_rate: float
    baseline: Latency
    processor: Latency
    # The workers' own view of the paced orders (`streammesh_cltv_order_latency_seconds`, from
    # an order's produce time to its customer's record queued): the bucket bound holding p99.
    worker_p99_le: float


def p99_bound(before: dict[float, float], after: dict[float, float]) -> float:
    """The smallest bucket bound under which 99% of the observations between two scrapes of a
    cumulative histogram fall (inf when none were made)."""
    delta = {le: after[le] - before.get(le, 0.0) for le in sorted(after)}
    total = delta.get(math.inf, 0.0)
    return next((le for le, count in delta.items() if total and count >= 0.99 * total), math.inf)


# -- plain consumers: the baseline ------------------------------------------------------------

#: How long the broker may hold a fetch for any reader here: short, so reading adds no latency.
FETCH_WAIT_MS = 5
#: The silence after which a baseline consumer has read everything.
BASELINE_SILENCE_SECONDS = 6.0


def baseline_consumer(
    bootstrap: str, registry_url: str, topic: str, partitions: list[int], ready: Any, out: Any
) -> None:
    """Read and decode `partitions` of `topic` from the start until stopped by silence; report
    (produce ms, decoded ms) of each record.

    The partitions are assigned, not taken in a group: a consumer joining later would stop the
    others for a rebalance in the middle of what is measured."""
    consumer = Consumer(
        {
            **kafka_client_config(bootstrap),
            "group.id": f"bench.baseline.{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": FETCH_WAIT_MS,
        }
    )
    registry = SchemaRegistryClient(registry_client_config(registry_url))
    decode = AvroDeserializer(registry)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    ready.set()
    samples: list[tuple[float, float]] = []
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < BASELINE_SILENCE_SECONDS or not samples:
        messages = consumer.consume(num_messages=1000, timeout=0.1)
        for message in messages:
            if message.error() is None:
                decode(message.value())
                samples.append((float(message.timestamp()[1]), time.time() * 1000))
        if messages:
            idle_since = time.monotonic()
    consumer.close()
    registry.close()
    out.put(samples)


def aiokafka_consumer(
    bootstrap: str, registry_url: str, topic: str, partitions: list[int], ready: Any, out: Any
) -> None:
    """`baseline_consumer` with aiokafka, the client Faust consumes with."""
    out.put(asyncio.run(_aiokafka_consume(bootstrap, registry_url, topic, partitions, ready)))


async def _aiokafka_consume(
    bootstrap: str, registry_url: str, topic: str, partitions: list[int], ready: Any
) -> list[tuple[float, float]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=FETCH_WAIT_MS,
        **aiokafka_security(),
    )
    await consumer.start()
    registry = SchemaRegistryClient(registry_client_config(registry_url))
    decode = AvroDeserializer(registry)
    owned = [AIOTopicPartition(topic, p) for p in partitions]
    consumer.assign(owned)
    await consumer.seek_to_beginning(*owned)
    ready.set()
    samples: list[tuple[float, float]] = []
    idle_since = time.monotonic()
    try:
        while time.monotonic() - idle_since < BASELINE_SILENCE_SECONDS or not samples:
            batches = await consumer.getmany(timeout_ms=100, max_records=1000)
            for records in batches.values():
                for record in records:
                    decode(record.value)
                    samples.append((float(record.timestamp), time.time() * 1000))
            if batches:
                idle_since = time.monotonic()
    finally:
        await consumer.stop()
        registry.close()
    return samples


def run_baseline(
    bootstrap: str,
    registry_url: str,
    topic: str,
    workers: int,
    during: Any,
    target: Any = baseline_consumer,
) -> list[list[tuple[float, float]]]:
    """Start `workers` consumer processes running `target`, each assigned its share of the
    partitions, call `during()` once they run; each one's samples."""
    context = mp.get_context("spawn")
    out: Queue[Any] = context.Queue()
    readies = [context.Event() for _ in range(workers)]
    shares = [list(range(ORDER_PARTITIONS))[n::workers] for n in range(workers)]
    processes = [
        context.Process(target=target, args=(bootstrap, registry_url, topic, share, ready, out))
        for share, ready in zip(shares, readies, strict=True)
    ]
    for process in processes:
        process.start()
    for ready in readies:
        ready.wait(60)
    during()
    found = [out.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(30)
    return found


# -- the processor ----------------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    url: str

    def counts(self) -> dict[str, int]:
        with contextlib.suppress(httpx.HTTPError):
            body = httpx.get(f"{self.url}/cltv/stats", timeout=5).json()
            return dict(body["counts"])
        return {}

    def latency_buckets(self) -> dict[float, float]:
        """The worker's order-latency histogram as cumulative counts by bucket bound."""
        found = metric_samples(httpx.get(f"{self.url}/metrics", timeout=5).text)
        return {
            float(dict(labels)["le"]): value
            for (name, labels), value in found.items()
            if name == LATENCY_METRIC + "_bucket"
        }

    def partitions(self) -> list[int]:
        with contextlib.suppress(httpx.HTTPError):
            return list(httpx.get(f"{self.url}/cltv/stats", timeout=5).json()["partitions"])
        return []


def start_worker(env: dict[str, str], log: Path) -> Worker:
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "domains.marketing.cltv"],
            cwd=ROOT,
            env={**os.environ, **env, "STREAMMESH_CLTV_WEB_PORT": str(port)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Worker(process, f"http://127.0.0.1:{port}")


def total(workers: Sequence[Worker], prefix: str) -> int:
    return sum(v for w in workers for k, v in w.counts().items() if k.startswith(prefix))


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


class OutputTimes:
    """Arrival times of records on the CLTV product, per customer, read in the background."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = Consumer(
            {
                **kafka_client_config(bootstrap),
                "group.id": f"bench.reader.{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "latest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": FETCH_WAIT_MS,
            }
        )
        self._consumer.subscribe([topic], on_assign=lambda _c, _p: self.assigned.set())
        self.assigned = threading.Event()
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self._consumer.consume(num_messages=1000, timeout=0.1):
                self._take(message)
        self._consumer.close()

    def _take(self, message: Message) -> None:
        key = message.key()
        if message.error() is None and key is not None:
            # the key is Confluent-framed Avro: a 5-byte header, the length varint, the id
            start = 5
            while key[start] & 0x80:
                start += 1
            self.arrivals[key[start + 1 :].decode()].append(time.time() * 1000)
            self.count += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(30)


# -- one case ---------------------------------------------------------------------------------


def produce(
    publisher: ProductProducer, events: Sequence[OrderEvent], rate: float | None
) -> dict[str, deque[float]]:
    """Produce `events` (at `rate` per second, or flat out); their produce times per key."""
    sent: dict[str, deque[float]] = defaultdict(deque)
    started = time.monotonic()
    for index, event in enumerate(events):
        if rate is not None and index % 50 == 0:
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sent[event.key].append(time.time() * 1000)
        publisher.publish(event.value, key=event.key, partition_by=event.key)
    publisher.flush()
    return sent


@dataclass
class Case:
    """The topics and producers of one run, on a broker and registry shared by all runs."""

    bootstrap: str
    registry_url: str
    suffix: str
    topics: dict[str, str]
    mesh: Mesh
    publish: dict[str, ProductProducer]
    logs: Path

    @classmethod
    def create(cls, bootstrap: str, registry_url: str, logs: Path) -> Case:
        logs.mkdir(parents=True, exist_ok=True)
        admin = AdminClient(kafka_client_config(bootstrap))
        suffix = uuid.uuid4().hex[:8]
        specs = {
            "orders": (ORDER_PARTITIONS, {}),
            "profiles": (ORDER_PARTITIONS, COMPACT),
            "cltv": (ORDER_PARTITIONS, COMPACT),
        }
        specs["segments"] = (1, COMPACT)
        topics = {kind: f"bench.{kind}.{suffix}" for kind in specs}
        ensure_topics(admin, [TopicSpec(topics[k], n, c) for k, (n, c) in specs.items()])
        # The products in the catalog, their records on this case's topics. "send": the load
        # is valid by construction, and evaluating the rules would hold the paced rate down.
        mesh = Mesh(MeshSettings(bootstrap_servers=bootstrap, registry_url=registry_url))
        publish = {
            kind: mesh.producer(
                mesh.apply_product(descriptor, topics=False).ref,
                topic=topics[kind],
                on_invalid="send",
            )
            for kind, descriptor in (("orders", ORDERS), ("profiles", PROFILES))
        }
        return cls(bootstrap, registry_url, suffix, topics, mesh, publish, logs)

    def close(self) -> None:
        for publisher in self.publish.values():
            publisher.close()
        self.mesh.close()
        admin = AdminClient(kafka_client_config(self.bootstrap))
        names = list(self.topics.values())
        internal = f"bench-cltv-{self.suffix}"
        names += [t for t in admin.list_topics(timeout=10).topics if t.startswith(internal)]
        admin.delete_topics(names, operation_timeout=30)

    def worker_env(self) -> dict[str, str]:
        return {
            "STREAMMESH_CLTV_APP_ID": f"bench-cltv-{self.suffix}",
            "STREAMMESH_CLTV_BOOTSTRAP_SERVERS": self.bootstrap,
            "STREAMMESH_CLTV_REGISTRY_URL": self.registry_url,
            "STREAMMESH_CLTV_ORDERS_TOPIC": self.topics["orders"],
            "STREAMMESH_CLTV_PROFILES_TOPIC": self.topics["profiles"],
            "STREAMMESH_CLTV_CLTV_TOPIC": self.topics["cltv"],
            "STREAMMESH_CLTV_SEGMENTS_TOPIC": self.topics["segments"],
            "STREAMMESH_CLTV_AUTO_REGISTER_SCHEMAS": "true",
            "STREAMMESH_CLTV_LOG_LEVEL": "warning",
            "STREAMMESH_CLTV_STANDBY_REPLICAS": "0",
        }


def baseline_phase(
    case: Case, workers: int, paced_orders: list[OrderEvent], rate: float
) -> tuple[float, Latency]:
    """Plain consumers read the backlog (orders/s), then orders produced at `rate` (latency)."""
    marks: dict[str, float] = {}

    def paced_burst() -> None:
        time.sleep(2.0)  # lets the consumers get through most of the backlog first
        marks["paced"] = time.time() * 1000
        produce(case.publish["orders"], paced_orders, rate)

    per_process = run_baseline(
        case.bootstrap, case.registry_url, case.topics["orders"], workers, paced_burst
    )
    live = [
        done - sent for samples in per_process for sent, done in samples if sent >= marks["paced"]
    ]
    return summed_rate(per_process, before=marks["paced"]), Latency.of(live)


def summed_rate(per_process: list[list[tuple[float, float]]], before: float) -> float:
    """Each process's own orders/s through the records produced before `before`, summed."""
    rate_per_second = 0.0
    for samples in per_process:
        done = sorted(done for sent, done in samples if sent < before)
        if len(done) > 1:
            rate_per_second += (len(done) - 1) / max(1e-3, (done[-1] - done[0]) / 1000)
    return rate_per_second


def aiokafka_baseline_phase(case: Case, workers: int) -> float:
    """Plain aiokafka consumers read everything produced so far: orders/s."""
    per_process = run_baseline(
        case.bootstrap,
        case.registry_url,
        case.topics["orders"],
        workers,
        lambda: None,
        target=aiokafka_consumer,
    )
    return summed_rate(per_process, before=math.inf)


def processor_backlog_phase(case: Case, running: list[Worker], backlog_orders: int) -> float:
    """Orders/s of the workers through everything produced so far, from their own counts."""
    times: list[tuple[float, int]] = []

    def done() -> bool:
        applied = total(running, "orders.")
        times.append((time.monotonic(), applied))
        return applied >= backlog_orders

    wait_for(done, 900, "the processor did not finish the backlog")
    started = next(t for t, n in times if n > 0)
    finished = next(t for t, n in times if n >= backlog_orders)
    return backlog_orders / max(1e-3, finished - started)


def processor_paced_phase(
    case: Case, running: list[Worker], orders: list[OrderEvent], rate: float
) -> tuple[Latency, float]:
    """Latency from an order's produce time to its customer's next record on the product, and
    the bucket holding p99 of the workers' own latency histogram over the same orders."""
    outputs = OutputTimes(case.bootstrap, case.topics["cltv"])
    outputs.assigned.wait(30)
    time.sleep(1.0)
    before = _summed(w.latency_buckets() for w in running)
    sent = produce(case.publish["orders"], orders, rate)
    wait_for(lambda: outputs.count >= len(orders), 180, "not every order reached the product")
    after = _summed(w.latency_buckets() for w in running)
    outputs.close()
    latency = Latency.of(
        [
            arrival - produced
            for key, produced_times in sent.items()
            for produced, arrival in zip(produced_times, outputs.arrivals[key], strict=False)
        ]
    )
    return latency, p99_bound(before, after)


def _summed(histograms: Iterable[dict[float, float]]) -> dict[float, float]:
    total: dict[float, float] = defaultdict(float)
    for histogram in histograms:
        for le, count in histogram.items():
            total[le] += count
    return dict(total)


def run_case(
    workers: int, args: argparse.Namespace, case: Case, orders: Iterator[OrderEvent]
) -> Row:
    running: list[Worker] = []
    try:
        for profile in iter_profiles(ProfilesConfig(seed=args.seed, customers=args.customers)):
            case.publish["profiles"].publish(
                profile.value, key=profile.key, partition_by=profile.key
            )
        produce(case.publish["orders"], list(itertools.islice(orders, args.orders)), None)
        goal = GOAL_PER_WORKER * workers
        baseline_paced = list(itertools.islice(orders, int((args.rate or goal) * args.seconds)))
        baseline_rate, baseline_latency = baseline_phase(
            case, workers, baseline_paced, args.rate or goal
        )
        aiokafka_rate = aiokafka_baseline_phase(case, workers)
        for index in range(workers):
            env = {**case.worker_env(), "STREAMMESH_CLTV_DATA_DIR": str(case.logs / f"{index}")}
            running.append(start_worker(env, case.logs / f"{case.suffix}-{index}.log"))
        processor_rate = processor_backlog_phase(case, running, args.orders + len(baseline_paced))
        wait_for(
            lambda: (
                sorted(p for w in running for p in w.partitions()) == list(range(ORDER_PARTITIONS))
            ),
            60,
            "the workers did not split the partitions",
        )
        paced = args.rate or min(goal, 0.8 * processor_rate)
        latency, worker_p99 = processor_paced_phase(
            case, running, list(itertools.islice(orders, int(paced * args.seconds))), paced
        )
        return Row(
            workers,
            baseline_rate,
            aiokafka_rate,
            processor_rate,
            paced,
            baseline_latency,
            latency,
            worker_p99,
        )
    finally:
        for worker in running:
            worker.process.terminate()
        for worker in running:
            try:
                worker.process.wait(30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait(30)


@contextlib.contextmanager
def registry_process(bootstrap: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "STREAMMESH_REGISTRY_PORT": str(port),
        "STREAMMESH_REGISTRY_BOOTSTRAP_SERVERS": bootstrap,
        "STREAMMESH_REGISTRY_TOPIC": f"_streammesh.bench.{uuid.uuid4().hex[:8]}",
        "STREAMMESH_REGISTRY_LOG_LEVEL": "warning",
        "STREAMMESH_REGISTRY_AUTH_ENABLED": "false",  # a throwaway registry on loopback
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.registry"], env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url), 60, "the registry did not start")
        yield url
    finally:
        process.terminate()
        process.wait(30)


def _healthy(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return bool(httpx.get(f"{url}/health", timeout=1).status_code == httpx.codes.OK)
    return False


@contextlib.contextmanager
def kafka(bootstrap: str | None) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    with tempfile.TemporaryDirectory() as state, kafka_for_tests(Path(state)) as under_test:
        yield under_test.bootstrap_servers


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=60_000, help="backlog size")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=15.0, help="paced phase length")
    parser.add_argument("--rate", type=float, default=None, help="paced orders per second")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bootstrap-servers", default=None)
    args = parser.parse_args()
    print(
        f"CLTV processor: {args.orders} backlog orders, {args.customers} customers, paced "
        f"{args.seconds:.0f}s; {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores"
    )
    orders = (event for event in iter_orders(SalesConfig(seed=args.seed, customers=args.customers)))
    rows = []
    with (
        kafka(args.bootstrap_servers) as bootstrap,
        registry_process(bootstrap) as registry,
        tempfile.TemporaryDirectory() as logs,
    ):
        for workers in args.workers:
            case = Case.create(bootstrap, registry, Path(logs) / str(workers))
            try:
                rows.append(run_case(workers, args, case, orders))
            finally:
                case.close()
    header = (
        f"{'workers':>7} {'baseline/s':>10} {'aiokafka/s':>10} {'cltv/s':>8} {'ratio':>5} "
        f"{'ratio aio':>9} {'per worker':>10} "
        f"{'paced/s':>7} {'base p50':>8} {'base p99':>8} {'cltv p50':>8} {'cltv p99':>8} "
        f"{'worker p99':>10}"
    )
    print(header)
    for r in rows:
        print(
            f"{r.workers:>7} {r.baseline_rate:>10.0f} {r.aiokafka_rate:>10.0f} "
            f"{r.processor_rate:>8.0f} {r.processor_rate / r.baseline_rate:>5.2f} "
            f"{r.processor_rate / r.aiokafka_rate:>9.2f} {r.processor_rate / r.workers:>10.0f} "
            f"{r.paced_rate:>7.0f} {r.baseline.p50_ms:>7.1f}ms {r.baseline.p99_ms:>7.1f}ms "
            f"{r.processor.p50_ms:>7.1f}ms {r.processor.p99_ms:>7.1f}ms "
            f"{'<= ' + format(r.worker_p99_le, 'g') + 's':>10}"
        )
    by_workers = {r.workers: r.processor_rate for r in rows}
    if 1 in by_workers and len(by_workers) > 1:
        print(
            "scaling (cltv/s against 1 worker): "
            + ", ".join(
                f"{n} workers x{rate / by_workers[1]:.2f}" for n, rate in by_workers.items()
            )
        )
    print(
        f"goals: >= {GOAL_PER_WORKER:.0f} orders/s per worker, p99 < 1000 ms, ratio >= 0.5; "
        "ratio: against the baseline (confluent-kafka), ratio aio: against aiokafka's; "
        "latency is produce -> decoded (baseline) or produce -> CLTV record arrived (cltv); "
        "worker p99: the bucket of the workers' own histogram (produce -> record queued)"
    )


if __name__ == "__main__":
    main()
