"""The render cache holds at most its bound in bytes, dropping the least recently read body
first, and one version spelled many ways is one entry."""

from __future__ import annotations

import pytest

from services.registry.api.cache import ENTRY_OVERHEAD, RenderCache
from services.registry.api.early import EarlyAnswers
from services.registry.api.subjects import version_key, version_param
from services.registry.core.registry import Registry
from services.registry.errors import InvalidVersionError
from services.registry.models import SchemaId

from .samples import USER_V1, run

BODY = len(b'{"id":1}') + ENTRY_OVERHEAD


def test_bodies_past_the_bound_drop_the_least_recently_read() -> None:
    cache = RenderCache(3 * BODY)
    for key in "abc":
        cache.body(key, lambda: SchemaId(id=1))
    cache.body("a", lambda: SchemaId(id=2))  # read again: now the most recent
    cache.body("d", lambda: SchemaId(id=1))
    assert (cache.entries, cache.size_bytes) == (3, 3 * BODY)
    rendered: list[str] = []

    def render(key: str) -> SchemaId:
        rendered.append(key)
        return SchemaId(id=1)

    for key in "acd":
        cache.body(key, lambda key=key: render(key))  # type: ignore[misc]
    assert rendered == []  # "b" went, the rest stayed
    cache.body("b", lambda: render("b"))
    assert rendered == ["b"]
    assert cache.size_bytes <= 3 * BODY


def test_a_body_larger_than_the_cache_is_answered_not_kept() -> None:
    cache = RenderCache(BODY - 1)
    assert cache.body("a", lambda: SchemaId(id=1)) == b'{"id":1}'
    assert (cache.entries, cache.size_bytes) == (0, 0)


def test_clearing_frees_every_byte() -> None:
    cache = RenderCache(10 * BODY)
    cache.body("a", lambda: SchemaId(id=1))
    cache.clear()
    assert (cache.entries, cache.size_bytes) == (0, 0)


@pytest.mark.parametrize(
    ("spelled", "key"),
    [
        ("1", 1),
        ("01", 1),
        ("0000000001", 1),
        ("\u0661", 1),  # an Arabic-Indic one: int() reads it, so the registry does too
        ("latest", -1),
        ("-1", -1),
        ("-0001", -1),
        ("0" * 5000 + "1", 1),  # past int()'s 4300 digits, as Java's parseInt reads it
        ("0\u0660" * 100 + "1", 1),  # zeros of two scripts
        ("0", "0"),
        ("\u00b2", "\u00b2"),  # a digit int() cannot read: 42202, not a 500
        ("2147483648", "2147483648"),
        ("-2", "-2"),
        ("LATEST", "LATEST"),
        ("1.0", "1.0"),
    ],
)
def test_a_version_is_keyed_by_what_it_means(spelled: str, key: int | str) -> None:
    assert version_key(spelled) == key


def test_many_spellings_of_one_version_are_one_entry(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    cache = RenderCache(1 << 20)
    early = EarlyAnswers(registry, cache)
    bodies = {
        early._answer(f"/subjects/users/versions/{'0' * zeros}1", b"") for zeros in range(500)
    }
    bodies |= {early._answer(f"/subjects/users/versions/{v}", b"") for v in ("latest", "-01")}
    assert len(bodies) == 1
    assert None not in bodies
    assert cache.entries == 2  # version 1, and the latest (the same body, another key)


@pytest.mark.parametrize("spelled", ["\u00b2", "1" * 5000, "0", "2147483648", "-2"])
def test_a_version_that_is_none_is_42202(registry: Registry, spelled: str) -> None:
    run(registry.register("users", USER_V1))
    with pytest.raises(InvalidVersionError):
        registry.get_version("users", version_param(spelled))
