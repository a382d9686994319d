"""The catalog page shows what the registry holds: in a real browser against a real registry,
every shipped product is listed under its domain, and a product's view shows its owner, its
fields with their tags, SLOs (live only when a monitor answers), quality rules, lineage graph
(upstream left, downstream right, nodes that navigate) and schema versions. With auth on,
the page's fetches carry the Basic credentials the browser was given. The page runs under its
Content-Security-Policy without a violation, and a URL that is not http(s) (in ?monitor= or in
catalog data) is shown as text: never a link, never fetched, never run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import httpx
import pytest
import yaml
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from playwright.sync_api import Browser, Dialog, Locator, Page, Route, expect, sync_playwright

from services.registry.api.auth import hash_password
from services.registry.api.ui import CONTENT_SECURITY_POLICY
from streammesh.broker.launcher import free_port
from streammesh.products.loader import load_descriptor
from streammesh.testing.servers import serve_in_thread
from tests.conftest import RegistryFactory

pytestmark = pytest.mark.e2e

ROOT: Final = Path(__file__).resolve().parents[2]
CHAIN: Final = (
    "sales/products/orders.yaml",
    "customers/products/profiles.yaml",
    "marketing/products/customer_lifetime_value.yaml",
    "marketing/products/cltv_by_segment.yaml",
)
CLTV: Final = "marketing.customer_lifetime_value.v1"
CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# An optional field, so a second value version of the product is compatible with the first.
ADDED_FIELD: Final = {
    "name": "campaign_note",
    "type": ["null", "string"],
    "default": None,
    "doc": "Free text from the campaign team.",
}


def product_body(relative: str, value_schema: str | None = None) -> dict[str, Any]:
    descriptor = load_descriptor(ROOT / "domains" / relative)
    body: dict[str, Any] = {
        "descriptor": descriptor.model_dump(mode="json", by_alias=True),
        "valueSchema": value_schema or (ROOT / descriptor.topic.value_schema).read_text(),
    }
    if descriptor.topic.key_schema:
        body["keySchema"] = (ROOT / descriptor.topic.key_schema).read_text()
    return body


def put(http: httpx.Client, relative: str, value_schema: str | None = None) -> dict[str, Any]:
    body = product_body(relative, value_schema)
    descriptor = body["descriptor"]
    response = http.put(f"/products/{descriptor['domain']}/{descriptor['name']}", json=body)
    assert response.status_code == 200, response.text
    product: dict[str, Any] = response.json()
    return product


@pytest.fixture
def registry(registry_factory: RegistryFactory) -> Iterator[httpx.Client]:
    """A registry holding the four shipped products, CLTV with two value schema versions."""
    with httpx.Client(base_url=registry_factory(), timeout=30) as http:
        for relative in CHAIN:
            put(http, relative)
        cltv = "marketing/products/customer_lifetime_value.yaml"
        schema = json.loads(product_body(cltv)["valueSchema"])
        schema["fields"].append(ADDED_FIELD)
        assert put(http, cltv, json.dumps(schema))["valueVersion"] == 2
        yield http


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# Values that must never become a link or a fetch: script, markup, a relative URL.
NOT_HTTP: Final = (
    "javascript:alert(1)",
    " JavaScript:alert(document.domain)//",
    "data:text/html,<script>alert(1)</script>",
    "//127.0.0.1:1/",
)
# No anchor anywhere whose href runs script or renders markup (whatever its case).
SCRIPT_LINKS: Final = 'a[href^="javascript:" i], a[href^="data:" i], a[href^=" " i]'


@pytest.fixture
def dialogs() -> list[str]:
    """The message of every alert/confirm/prompt a page opened (each is dismissed)."""
    return []


@pytest.fixture
def page(browser: Browser, dialogs: list[str]) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    opened = context.new_page()
    errors: list[str] = []
    violations: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("pageerror", lambda error: errors.append(str(error)))
    # Chromium reports what the CSP blocks ("Refused to ...") on the console.
    opened.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    opened.on("dialog", on_dialog)
    try:
        yield opened
    finally:
        context.close()
    assert errors == []  # no uncaught script error on any view
    assert violations == []  # nothing the page needs is blocked by its policy
    assert dialogs == []


def ui(registry: httpx.Client, rest: str = "") -> str:
    return f"{str(registry.base_url).rstrip('/')}/ui{rest}"


def field_tags(page: Page, path: str) -> Locator:
    return page.get_by_test_id(f"field-{path}").get_by_test_id("tag")


def x_of(locator: Locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["x"]


def test_catalog_lists_every_product_and_a_product_view_shows_its_contract(
    registry: httpx.Client, page: Page
) -> None:
    response = page.goto(ui(registry))

    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expect(page.get_by_role("heading", level=1)).to_have_text("Data products")
    domains = page.locator("[data-testid^=domain-]")
    expect(domains.get_by_role("heading", level=2)).to_have_text(
        ["customers", "marketing", "sales"]
    )
    expect(page.get_by_test_id("domain-marketing").get_by_test_id("product-link")).to_have_text(
        ["cltv_by_segment v1", "customer_lifetime_value v1"]
    )
    orders = page.get_by_test_id("product-sales.orders.v1")
    expect(orders.get_by_test_id("owner")).to_have_text(
        registry.get("/products/sales/orders").json()["descriptor"]["team"]["name"]
    )
    expect(orders.get_by_test_id("status")).to_have_text("active")
    expect(orders.get_by_test_id("description")).not_to_be_empty()

    page.get_by_test_id(f"product-{CLTV}").get_by_test_id("product-link").click()

    expect(page).to_have_url(ui(registry, "#/products/marketing/customer_lifetime_value/v1"))
    expect(page.get_by_test_id("product-title")).to_have_text(CLTV)
    expect(page.get_by_test_id("overview").get_by_test_id("owner")).to_have_text(
        "marketing-analytics"
    )
    # Fields come from the registered value schema (the latest version has the added one).
    expect(page.get_by_test_id("field-customer_id").get_by_test_id("classification")).to_have_text(
        "internal"
    )
    expect(page.get_by_test_id("field-campaign_note")).to_be_visible()
    expect(field_tags(page, "customer_id")).to_have_count(0)
    # An e-mail contact is a mailto: link.
    expect(page.get_by_test_id("overview").get_by_test_id("contact")).to_have_attribute(
        "href", "mailto:marketing-analytics@streammesh.example"
    )
    # SLOs as declared; no monitor is configured, so their live status is unknown.
    expect(page.get_by_test_id("slo-freshness")).to_contain_text("120 s")
    expect(page.get_by_test_id("slo-completeness")).to_contain_text("99.90 %")
    expect(page.get_by_test_id("slo-availability")).to_contain_text("99.00 %")
    expect(page.get_by_test_id("slo-status")).to_contain_text("SLO status: unknown")
    expect(page.get_by_test_id("rule-order_times_ordered").get_by_test_id("expr")).to_have_text(
        "message.first_order_time <= message.last_order_time"
    )

    # Lineage: orders and profiles upstream (left), cltv_by_segment downstream (right).
    graph = page.get_by_test_id("lineage-graph")
    root = graph.get_by_test_id(f"lineage-node-{CLTV}")
    upstream = [
        graph.get_by_test_id(f"lineage-node-{r}")
        for r in ("sales.orders.v1", "customers.profiles.v1")
    ]
    downstream = graph.get_by_test_id("lineage-node-marketing.cltv_by_segment.v1")
    expect(root).to_have_attribute("data-role", "root")
    for node in upstream:
        expect(node).to_have_attribute("data-role", "upstream")
        assert x_of(node) < x_of(root)
    expect(downstream).to_have_attribute("data-role", "downstream")
    assert x_of(downstream) > x_of(root)
    expect(graph.locator("[data-testid^=lineage-node-]")).to_have_count(4)
    expect(graph.locator("[data-testid^=lineage-edge-]")).to_have_count(3)

    # Schema versions, newest first, each with its id; the product's version is shown.
    ids = {v: registry.get(f"/subjects/{CLTV}-value/versions/{v}").json()["id"] for v in (1, 2)}
    versions = page.get_by_test_id("version-list").get_by_role("button")
    expect(versions).to_have_text([f"Version 2 · id {ids[2]}", f"Version 1 · id {ids[1]}"])
    expect(page.get_by_test_id("version-2")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("schema-text")).to_contain_text("campaign_note")
    page.get_by_test_id("version-1").click()
    expect(page.get_by_test_id("schema-caption")).to_have_text(f"Version 1, schema id {ids[1]}")
    expect(page.get_by_test_id("schema-text")).not_to_contain_text("campaign_note")
    shown = json.loads(page.get_by_test_id("schema-text").text_content() or "")
    registered = registry.get(f"/subjects/{CLTV}-value/versions/1").json()["schema"]
    assert shown == json.loads(registered)

    # A lineage node is a link to its product: profiles, whose email is PII.
    upstream[1].click()
    expect(page).to_have_url(ui(registry, "#/products/customers/profiles/v1"))
    expect(page.get_by_test_id("product-title")).to_have_text("customers.profiles.v1")
    expect(page.get_by_test_id("field-email").get_by_test_id("classification")).to_have_text(
        "confidential"
    )
    expect(field_tags(page, "email")).to_have_text(["PII"])
    expect(field_tags(page, "country")).to_have_count(0)
    # An https contact is a link to itself.
    contact = "https://chat.streammesh.example/channels/customer-identity"
    expect(page.get_by_test_id("overview").get_by_test_id("contact")).to_have_attribute(
        "href", contact
    )
    expect(
        page.get_by_test_id("lineage-graph").get_by_test_id(f"lineage-node-{CLTV}")
    ).to_have_attribute("data-role", "downstream")

    # The hash is the route: the browser's back button returns to CLTV.
    page.go_back()
    expect(page.get_by_test_id("product-title")).to_have_text(CLTV)


@pytest.fixture
def monitor_url() -> Iterator[str]:
    """A stand-in for the quality monitor's GET /products, in the loose shape the page reads."""
    monitor = FastAPI()
    monitor.add_middleware(CORSMiddleware, allow_origins=["*"])

    @monitor.get("/products")
    async def products() -> list[dict[str, object]]:
        return [
            {"ref": "sales.orders.v1", "freshnessSeconds": 999.0},
            {"ref": CLTV, "freshnessSeconds": 30.0, "available": True, "checked": 40, "failed": 2},
        ]

    with serve_in_thread(monitor) as url:
        yield url


def test_slo_status_is_live_from_the_monitor_when_one_answers(
    registry: httpx.Client, page: Page, monitor_url: str
) -> None:
    page.goto(ui(registry, f"?monitor={monitor_url}#/products/marketing/customer_lifetime_value"))

    link = page.get_by_test_id("monitor-state").get_by_role("link")
    expect(link).to_have_text(monitor_url)
    expect(link).to_have_attribute("href", f"{monitor_url}/")

    expect(page.get_by_test_id("slo-status")).to_have_text(
        "SLO status: met (live from the quality monitor)"
    )
    expect(page.get_by_test_id("slo-freshness").get_by_test_id("slo-live")).to_contain_text(
        "30.0 s met"
    )
    expect(page.get_by_test_id("slo-availability").get_by_test_id("slo-verdict")).to_have_text(
        "met"
    )
    expect(page.get_by_test_id("monitor-failed")).to_have_text("2")
    expect(page.get_by_test_id("monitor-checked")).to_have_text("40")

    # A product the monitor reports stale is breached; one it does not watch is unknown.
    page.goto(ui(registry, f"?monitor={monitor_url}#/products/sales/orders"))
    expect(page.get_by_test_id("slo-status")).to_have_text(
        "SLO status: breached (live from the quality monitor)"
    )
    page.goto(ui(registry, f"?monitor={monitor_url}#/products/customers/profiles"))
    expect(page.get_by_test_id("slo-status")).to_contain_text("SLO status: unknown")


def test_an_unreachable_monitor_leaves_the_status_unknown(
    registry: httpx.Client, page: Page
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # a port the OS just freed: nothing listens
    page.goto(ui(registry, f"?monitor={dead}#/products/sales/orders"))
    expect(page.get_by_test_id("slo-status")).to_have_text(
        "SLO status: unknown (quality monitor unreachable)"
    )
    expect(page.get_by_test_id("field-order_id")).to_be_visible()


def test_with_auth_on_the_browser_sends_the_credentials_it_was_given(
    registry_factory: RegistryFactory, browser: Browser, tmp_path: Path
) -> None:
    users = {"admin": {"password": hash_password("admin-secret", iterations=1000), "role": "admin"}}
    auth_file = tmp_path / "users.yaml"
    auth_file.write_text(yaml.safe_dump({"users": users}))
    url = registry_factory(auth_file=auth_file)
    with httpx.Client(base_url=url, timeout=30, auth=("admin", "admin-secret")) as http:
        put(http, "sales/products/orders.yaml")
        # The page itself is open; the data it fetches asks for credentials.
        assert http.get("/ui", auth=None).status_code == 200
        assert http.get("/products", auth=None).headers["www-authenticate"].startswith("Basic")

    # The page's own fetches carry the Basic credentials the browser holds for the registry.
    context = browser.new_context(
        http_credentials={"username": "admin", "password": "admin-secret"}
    )
    try:
        page = context.new_page()
        page.goto(f"{url}/ui#/products/sales/orders")
        expect(page.get_by_test_id("product-title")).to_have_text("sales.orders.v1")
        expect(page.get_by_test_id("version-1")).to_contain_text("id ")
    finally:
        context.close()


@pytest.mark.parametrize("given", NOT_HTTP, ids=["javascript", "mixed-case", "data", "relative"])
def test_a_monitor_url_that_is_not_http_is_text_never_fetched_nor_run(
    registry: httpx.Client, page: Page, dialogs: list[str], given: str
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(ui(registry, f"?monitor={quote(given)}#/products/sales/orders"))

    expect(page.get_by_test_id("monitor-state")).to_contain_text(given.strip())
    expect(page.locator(SCRIPT_LINKS)).to_have_count(0)
    shown = page.get_by_test_id("monitor-url")
    expect(shown).to_have_text(given.strip())
    assert shown.evaluate("node => node.tagName") == "SPAN"
    expect(page.get_by_test_id("monitor-state")).to_contain_text("not an http(s) URL: not used")
    expect(page.get_by_test_id("slo-status")).to_have_text(
        "SLO status: unknown (quality monitor URL is not http(s))"
    )
    shown.click()  # a span: nothing opens, nothing runs
    expect(page.get_by_test_id("product-title")).to_have_text("sales.orders.v1")
    assert dialogs == []
    origin = str(registry.base_url).rstrip("/")
    assert [url for url in requested if not url.startswith(f"{origin}/")] == []


@pytest.mark.parametrize(
    "contact",
    [
        pytest.param("javascript:alert(document.domain)", id="javascript"),
        pytest.param("data:text/html,<b>hi</b>", id="data"),
        pytest.param("owners@streammesh.example?cc=all@streammesh.example", id="mail-headers"),
    ],
)
def test_a_contact_in_catalog_data_that_is_not_http_is_text(
    registry: httpx.Client, page: Page, dialogs: list[str], contact: str
) -> None:
    """The registry's policy refuses such a contact; the page does not rely on it."""

    def tampered(route: Route) -> None:
        response = route.fetch()
        product = response.json()
        product["descriptor"]["team"]["contact"] = contact
        route.fulfill(response=response, json=product)

    page.route(ui(registry).removesuffix("/ui") + "/products/sales/orders", tampered)
    page.goto(ui(registry, "#/products/sales/orders"))

    shown = page.get_by_test_id("overview").get_by_test_id("contact")
    expect(shown).to_have_text(contact)
    assert shown.evaluate("node => node.tagName") == "SPAN"
    expect(page.locator(SCRIPT_LINKS)).to_have_count(0)
    shown.click()
    expect(page.get_by_test_id("product-title")).to_have_text("sales.orders.v1")
    assert dialogs == []
