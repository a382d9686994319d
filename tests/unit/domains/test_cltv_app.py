"""The CLTV app is built on the Faust runtime: its settings reach the runtime's app, its inputs
are handled inline, and its tables write their changelogs through the direct producer."""

from __future__ import annotations

from pathlib import Path

from domains.marketing.cltv.app import create_app, internal_topics
from domains.marketing.cltv.settings import CltvSettings
from streammesh.access import Operation, Resource, compute_acls, decide
from streammesh.access.principals import domain_user, principal
from streammesh.faust import App, DirectTable
from streammesh.products import load_descriptor


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


def test_the_default_app_id_is_a_processor_of_marketing(tmp_path: Path) -> None:
    """On an authenticated mesh the worker runs as marketing with the ACLs computed from the
    descriptors alone: its group and every internal topic must fall under what they grant."""
    root = Path(__file__).resolve().parents[3] / "domains"
    descriptors = [load_descriptor(path) for path in sorted(root.glob("*/products/*.yaml"))]
    acls = compute_acls(descriptors)
    settings = CltvSettings(bootstrap_servers="127.0.0.1:1", data_dir=tmp_path)
    marketing = principal(domain_user("marketing"))
    assert decide(acls, marketing, Resource.GROUP, settings.app_id, Operation.READ).allowed
    app = create_app(settings)
    leader = f"{settings.app_id}-__assignor-__leader"  # Faust makes it when it is missing
    topics = [*(spec.name for spec in internal_topics(settings)), leader]
    assert set(app.tables.changelog_topics) <= set(topics)
    for topic in topics:
        for operation in (Operation.CREATE, Operation.READ, Operation.WRITE):
            if operation is Operation.READ and topic.endswith(".dlq"):
                continue  # it only writes its dead letters
            decision = decide(acls, marketing, Resource.TOPIC, topic, operation)
            assert decision.allowed, (topic, operation)
