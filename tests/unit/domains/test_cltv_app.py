"""The CLTV app is built on the Faust runtime: its settings reach the runtime's app, its inputs
are handled inline, and its tables write their changelogs through the direct producer."""

from __future__ import annotations

from pathlib import Path

from domains.marketing.cltv.app import create_app, internal_topics
from domains.marketing.cltv.settings import CltvSettings
from streammesh.faust import App, DirectTable


def test_the_settings_reach_the_runtime_app(tmp_path: Path) -> None:
    settings = CltvSettings(
        fetch_max_wait_ms=37, bootstrap_servers="127.0.0.1:1", data_dir=tmp_path
    )
    app = create_app(settings)
    assert isinstance(app, App)
    assert app.fetch_max_wait_ms == 37
    assert set(app.inline) == {settings.orders_topic, settings.profiles_topic}
    assert all(isinstance(table, DirectTable) for table in app.tables.values())
    changelogs = set(app.tables.changelog_topics)
    # the worker creates every changelog before it starts, with the table's partitions
    specs = {spec.name: spec for spec in internal_topics(settings)}
    assert changelogs <= set(specs)
    assert {specs[name].partitions for name in changelogs} == {settings.partitions}
