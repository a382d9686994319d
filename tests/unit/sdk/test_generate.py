"""A generator's shared options keep their command line; pacing spreads records over time
without sleeping when unpaced; a live record's event time is the wall clock."""

from __future__ import annotations

import time

import pytest

from streammesh.sdk.generate import generator_parser, paced, stamped_now


def test_the_shared_options_parse_as_the_demo_and_compose_pass_them() -> None:
    args = generator_parser("g").parse_args(
        ["--rate", "5", "--live", "--bootstrap-servers", "kafka:19092", "--registry-url", "u"]
    )
    assert (args.rate, args.live, args.bootstrap_servers, args.registry_url) == (
        5.0,
        True,
        "kafka:19092",
        "u",
    )
    assert (args.seed, args.topic, args.apply) == (1, None, False)
    # unset: the SDK's settings (STREAMMESH_*) decide
    assert generator_parser("g").parse_args([]).bootstrap_servers is None


def test_paced_yields_everything_at_about_the_rate() -> None:
    assert list(paced(range(5), None)) == [0, 1, 2, 3, 4]
    started = time.monotonic()
    assert list(paced(range(6), 50.0)) == [0, 1, 2, 3, 4, 5]
    assert time.monotonic() - started == pytest.approx(0.1, abs=0.08)


def test_stamped_now_sets_only_the_event_time() -> None:
    before = int(time.time() * 1000)
    value = stamped_now({"a": 1, "event_time": 0}, "event_time")
    assert value["a"] == 1
    assert isinstance(value["event_time"], int)
    assert value["event_time"] >= before
