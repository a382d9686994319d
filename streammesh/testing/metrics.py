"""A Prometheus exposition read back, for tests: each sample's value by name and labels."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

SampleKey = tuple[str, tuple[tuple[str, str], ...]]


def samples(source: str | CollectorRegistry) -> dict[SampleKey, float]:
    """Every sample of an exposition (its text, or a registry's) by name and sorted labels."""
    text = generate_latest(source).decode() if isinstance(source, CollectorRegistry) else source
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
