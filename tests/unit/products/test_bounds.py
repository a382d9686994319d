"""Every free-text field and list of a descriptor is bounded, a refusal names the field, and the
contact check takes time linear in its input, so no descriptor can stall the shared registry."""

import time
from typing import Any

import pytest
from pydantic import ValidationError

from streammesh.products import policies
from streammesh.products.descriptor import (
    DESCRIPTION_MAX,
    EXPR_MAX,
    ITEMS_MAX,
    NAME_MAX,
    TEXT_MAX,
    Descriptor,
)
from streammesh.products.policies import reachable
from tests.unit.products.conftest import BASE, merge

MEGABYTE = 1 << 20
RULE = {"name": "r", "expr": "true"}

# (field path in the refusal, descriptor changes with one value just over its bound)
OVER: list[tuple[str, dict[str, Any]]] = [
    ("team.contact", {"team": {"contact": "a" * (NAME_MAX + 1)}}),
    ("team.name", {"team": {"name": "a" * (NAME_MAX + 1)}}),
    ("team.description", {"team": {"description": "a" * (TEXT_MAX + 1)}}),
    ("description.purpose", {"description": {"purpose": "a" * (DESCRIPTION_MAX + 1)}}),
    ("description.usage", {"description": {"usage": "a" * (DESCRIPTION_MAX + 1)}}),
    ("topic.valueSchema", {"topic": {"valueSchema": "a" * (NAME_MAX + 1)}}),
    ("quality.0.expr", {"quality": [{"name": "r", "expr": "1" * (EXPR_MAX + 1)}]}),
    ("quality.0.description", {"quality": [{**RULE, "description": "a" * (TEXT_MAX + 1)}]}),
    ("quality.0.tags", {"quality": [{**RULE, "tags": ["t"] * (ITEMS_MAX + 1)}]}),
    ("quality.0.params", {"quality": [{**RULE, "params": {str(i): "" for i in range(300)}}]}),
    ("quality", {"quality": [RULE] * (ITEMS_MAX + 1)}),
    ("fields.page.tags.0", {"fields": {"page": {"tags": ["a" * (NAME_MAX + 1)]}}}),
    ("inputPorts", {"inputPorts": ["shop.other.v1"] * (ITEMS_MAX + 1)}),
    ("inputPorts.0", {"inputPorts": ["a" * (NAME_MAX + 1)]}),
    ("domain", {"domain": "a" * (NAME_MAX + 1)}),
]


@pytest.mark.parametrize(("field", "changes"), OVER, ids=[field for field, _ in OVER])
def test_a_value_over_its_bound_is_refused_by_name(field: str, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        Descriptor.model_validate(merge(BASE, changes))
    paths = {".".join(str(p) for p in error["loc"]) for error in refused.value.errors()}
    assert paths == {field}


def test_values_at_their_bounds_are_accepted() -> None:
    Descriptor.model_validate(
        merge(
            BASE,
            {
                "team": {"name": "a" * NAME_MAX, "description": "a" * TEXT_MAX},
                "description": {"purpose": "a" * DESCRIPTION_MAX},
                "quality": [{"name": "r", "expr": "1" * EXPR_MAX, "tags": ["t"] * ITEMS_MAX}],
            },
        )
    )


def test_a_megabyte_contact_is_refused_before_any_check_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The e-mail grammar never sees it: the model refuses it, and so does the policy itself
    # for a descriptor changed in code past the model's validation.
    def never(*_: object, **__: object) -> None:
        raise AssertionError("the e-mail check ran on over-long input")

    monkeypatch.setattr(policies, "validate_email", never)
    huge = "a" * MEGABYTE + "@example.com"
    with pytest.raises(ValidationError, match=r"team\.contact"):
        Descriptor.model_validate(merge(BASE, {"team": {"contact": huge}}))
    assert not reachable(huge)


@pytest.mark.parametrize(
    "contact",
    [
        "a" * MEGABYTE,
        "a@" * (MEGABYTE // 2),
        "a@" + "a." * (MEGABYTE // 2),
        "https://" + "a" * MEGABYTE,
        "http://x/" + "/" * MEGABYTE + " ",
    ],
    ids=["letters", "at-signs", "dots", "long-url", "slashes"],
)
def test_contact_checks_run_in_linear_time(contact: str) -> None:
    # The regular expressions these replace took seconds on 40 KB; a guard, not a benchmark.
    started = time.perf_counter()
    assert not reachable(contact)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("contact", "ok"),
    [
        ("web-team@shop.example", True),
        ("a@b.c", True),
        ("https://chat.streammesh.example/channels/web", True),
        ("http://tracker.example", True),
        ("ask around", False),
        ("nobody", False),
        ("a@@b.example", False),
        ("team@localhost", False),
        ("ftp://files.example", False),
        ("https://", False),
        ("https://[::1", False),
        ("javascript:alert(1)", False),
    ],
)
def test_contact_is_an_email_address_or_an_http_url(contact: str, ok: bool) -> None:
    assert reachable(contact) is ok
