"""`make demo DURATION=...` brings the whole mesh up, data flows through every product, CLTV
values appear, the injected bad records reach the dead-letter topic, and nothing is left
running afterwards."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from streammesh.broker.launcher import port_is_free

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _demo_processes() -> list[str]:
    """Processes still running from the demo: its broker and Faust keep their state there."""
    state = str(ROOT / ".streammesh" / "demo").encode()
    found = []
    for cmdline_file in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmdline = cmdline_file.read_bytes()
        except OSError:
            continue  # gone meanwhile
        if state in cmdline:
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


@pytest.mark.timeout(420)
def test_make_demo_runs_the_mesh_end_to_end() -> None:
    done = subprocess.run(
        ["make", "demo", "DURATION=45"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    summary = output[output.index("StreamMesh demo summary") :]
    counts = dict(re.findall(r"^  (\S+\.v\d+): (\d+) records", summary, re.MULTILINE))
    assert set(counts) == {
        "customers.profiles.v1",
        "marketing.cltv_by_segment.v1",
        "marketing.customer_lifetime_value.v1",
        "sales.orders.v1",
    }
    assert all(int(n) > 0 for n in counts.values()), counts
    dead = re.search(r"sales\.orders\.v1: \d+ records, (\d+) dead letters", summary)
    assert dead is not None
    assert int(dead.group(1)) > 0  # the generator injects a share of bad orders
    customers = re.search(r"customers with a lifetime value: (\d+)", summary)
    assert customers is not None
    assert int(customers.group(1)) > 0
    assert "segment " in summary
    assert "result: the mesh worked end to end" in summary
    assert _demo_processes() == []
    for port in (8081, 8090, 6066, 9090, 9092):  # registry, monitor, CLTV, Prometheus, Kafka
        assert port_is_free("127.0.0.1", port), port
