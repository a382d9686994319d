"""``streammesh product``: lint, apply, browse and retire data products."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from rich.tree import Tree

from streammesh.access.kafka import apply_acl_diff
from streammesh.access.plan import AccessPlan, plan_acls
from streammesh.access.settings import AccessSettings
from streammesh.cli.access import mesh_of, show_access
from streammesh.cli.common import (
    collect_descriptor_files,
    console,
    err_console,
    errors_exit,
    mesh_settings,
    open_mesh,
)
from streammesh.cli.output import ExitCode, OutputFormat, OutputOption, emit_json, fail
from streammesh.cli.plan import (
    LocalProduct,
    ProductPlan,
    SubjectState,
    dependency_order,
    has_errors,
    load_products,
    local_catalog,
    local_violations,
    registry_changes,
)
from streammesh.errors import StreamMeshError
from streammesh.products import (
    AvroSchemaError,
    ContractError,
    Descriptor,
    Violation,
    compile_contract,
    to_odcs,
)
from streammesh.products.policies import Severity
from streammesh.sdk import CatalogClient, Mesh, Product, parse_product
from streammesh.sdk.topics import describe_topics, execute_plan, plan_topics, topic_specs

product_app = typer.Typer(
    help="Data products: lint and apply descriptors, browse the catalog, manage lifecycle.",
    no_args_is_help=True,
)

Paths = Annotated[
    list[Path],
    typer.Argument(help="Descriptor files or folders (searched for *.yaml).", exists=True),
]
RootOption = Annotated[
    Path | None,
    typer.Option(
        help="Checkout the schema paths are relative to (default: the nearest folder with "
        "a schemas/ folder above each descriptor).",
        file_okay=False,
    ),
]
MajorOption = Annotated[
    int | None, typer.Option("--major", min=1, help="Major version (default: the latest).")
]
RefArgument = Annotated[str, typer.Argument(help="<domain>.<product> or <domain>.<product>.vN")]


# --- check


def _catalog_for_check(offline: bool) -> tuple[CatalogClient | None, str | None]:
    """The registry to check against: the configured one (which must answer), or the default
    one if it happens to answer; None offline. The second value says why there is none."""
    if offline:
        return None, "offline: registry checks skipped"
    settings = mesh_settings()
    secret = settings.registry_user_info
    client = CatalogClient(
        settings.registry_url, user_info=secret.get_secret_value() if secret else None
    )
    if client.ping():
        return client, None
    client.close()
    if settings.registry_configured:
        fail(f"the registry at {settings.registry_url} (STREAMMESH_REGISTRY_URL) is unreachable")
    return None, f"no registry at {settings.registry_url}: registry checks skipped"


def _registry_violations(catalog: CatalogClient, product: LocalProduct) -> list[Violation]:
    d = product.descriptor
    assert d is not None  # only loaded descriptors reach the registry checks
    try:
        contract = compile_contract(d, product.schema_text(d.topic.value_schema))
    except (ContractError, AvroSchemaError):
        return []  # the local policies already report it
    found: list[Violation] = []
    checks = [(contract.subject, contract.schema, True)]
    if d.topic.key_schema is not None:
        checks.append((f"{d.topic.name}-key", product.schema_text(d.topic.key_schema), False))
    for subject, schema, is_value in checks:
        result = catalog.compatibility(subject, schema)
        if result is None or result[0]:
            continue
        messages = "; ".join(result[1]) or "no details"
        found.append(
            Violation(
                "registry.incompatible",
                f"{subject}: incompatible with the registered versions ({messages}); a "
                f"breaking change ships as {d.domain}.{d.name}.v{d.major + 1} on a new topic",
            )
        )
        if is_value and catalog.find_product(d.domain, d.name, d.major) is not None:
            impact = catalog.impact(d.domain, d.name, schema, d.major)
            if impact.get("breaks"):
                found.append(
                    Violation(
                        "registry.impact",
                        f"{d.ref}: this change breaks {', '.join(impact['breaks'])}",
                    )
                )
    return found


@product_app.command()
def check(
    paths: Paths,
    output: OutputFormat = OutputOption,
    root: RootOption = None,
    offline: Annotated[
        bool, typer.Option(help="Only the local policies; never ask the registry.")
    ] = False,
) -> None:
    """Lint descriptors and schemas against the governance policies (a domain's CI gate).

    With a registry (STREAMMESH_REGISTRY_URL, or one answering on the default URL) it also
    checks schema compatibility with the registered versions and which downstream products a
    change would break. Exit code 1 when any error is found.
    """
    files = collect_descriptor_files(paths)
    if not files:
        fail("no descriptor files found", ExitCode.USAGE)
    products = load_products(files, root)
    local = local_catalog(products)
    catalog, note = _catalog_for_check(offline)
    remote: dict[str, Descriptor | None] = {}

    def known(ref: str) -> Descriptor | None:
        if ref in local:
            return local[ref]
        if catalog is None:
            return None
        if ref not in remote:
            try:
                domain, name, major = parse_product(ref)
                found = catalog.find_product(domain, name, major)
            except StreamMeshError:
                found = None
            remote[ref] = found.descriptor if found else None
        return remote[ref]

    results: list[tuple[LocalProduct, list[Violation]]] = []
    with errors_exit():
        try:
            for product in products:
                violations = local_violations(product, known)
                if catalog is not None and product.descriptor is not None:
                    violations += _registry_violations(catalog, product)
                results.append((product, violations))
        finally:
            if catalog is not None:
                catalog.close()
    failed = any(has_errors(v) for _, v in results)
    if output is OutputFormat.json:
        emit_json(
            {
                "ok": not failed,
                "registry": None if catalog is None else catalog.url,
                "note": note,
                "results": [
                    {
                        "path": p.shown,
                        "ref": p.descriptor.ref if p.descriptor else None,
                        "violations": [
                            {"code": v.code, "severity": v.severity.value, "message": v.message}
                            for v in vs
                        ],
                    }
                    for p, vs in results
                ],
            }
        )
    else:
        _show_check(results, note)
    raise typer.Exit(ExitCode.ERROR if failed else ExitCode.OK)


def _show_check(results: list[tuple[LocalProduct, list[Violation]]], note: str | None) -> None:
    errors = warnings = 0
    for product, violations in results:
        name = product.descriptor.ref if product.descriptor else "?"
        if not violations:
            console.print(f"[green]ok[/]    {product.shown} ({name})")
            continue
        bad = has_errors(violations)
        console.print(f"[{'red' if bad else 'yellow'}]{'fail' if bad else 'warn'}[/]  "
                      f"{product.shown} ({name})")  # fmt: skip
        for v in violations:
            style = "red" if v.severity is Severity.ERROR else "yellow"
            console.print(
                f"  [{style}]{v.severity.value:7}[/] {escape(v.code)}: {escape(v.message)}"
            )
            errors += v.severity is Severity.ERROR
            warnings += v.severity is Severity.WARNING
    if note:
        console.print(f"[dim]{note}[/]")
    console.print(f"{len(results)} descriptors checked: {errors} errors, {warnings} warnings")


# --- apply


def _plan(mesh: Mesh, product: LocalProduct, grow_partitions: bool) -> ProductPlan:
    d = product.descriptor
    assert d is not None  # apply stops on descriptors that do not load
    specs = topic_specs(d)
    topics = plan_topics(
        specs,
        describe_topics(mesh.admin, [s.name for s in specs]),
        grow_partitions=grow_partitions,
    )
    value_text = product.schema_text(d.topic.value_schema)
    contract = compile_contract(d, value_text)
    catalog = mesh.catalog
    value = SubjectState(
        catalog.latest_version(contract.subject), catalog.lookup(contract.subject, contract.schema)
    )
    key = None
    if d.topic.key_schema is not None:
        subject = f"{d.topic.name}-key"
        key_text = product.schema_text(d.topic.key_schema)
        key = SubjectState(catalog.latest_version(subject), catalog.lookup(subject, key_text))
    stored = catalog.find_product(d.domain, d.name, d.major)
    changes = registry_changes(
        d, contract, value=value, key=key, stored=stored.descriptor if stored else None
    )
    return ProductPlan(d.ref, topics, changes)


def _execute(mesh: Mesh, product: LocalProduct, plan: ProductPlan) -> None:
    d = product.descriptor
    assert d is not None
    if plan.topics.changes:
        execute_plan(mesh.admin, plan.topics)
    if plan.registry:
        key = product.schema_text(d.topic.key_schema) if d.topic.key_schema else None
        mesh.catalog.put_product(d, product.schema_text(d.topic.value_schema), key)


@product_app.command()
def apply(
    paths: Paths,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
    grow_partitions: Annotated[
        bool,
        typer.Option(help="Allow adding partitions (moves keys to other partitions)."),
    ] = False,
    output: OutputFormat = OutputOption,
    root: RootOption = None,
) -> None:
    """Create or update topics, register schemas and descriptors, and bring the ACLs in line
    with the mesh's descriptors; idempotent.

    Products are applied inputs first. Nothing is applied when a descriptor breaks a policy
    or asks for an unsafe topic change (shrinking partitions, delete <-> compact). ACLs are
    computed from every product of the catalog, these descriptors in place of their copies
    (skipped, with a note, on a broker without an authorizer).
    """
    files = collect_descriptor_files(paths)
    if not files:
        fail("no descriptor files found", ExitCode.USAGE)
    products = load_products(files, root)
    local = local_catalog(products)
    with open_mesh() as mesh:

        def known(ref: str) -> Descriptor | None:
            # Local files know the products applied with this one; the catalog the rest.
            if ref in local:
                return local[ref]
            domain, name, major = parse_product(ref)
            found = mesh.catalog.find_product(domain, name, major)
            return found.descriptor if found else None

        by_ref: dict[str, LocalProduct] = {}
        for product in products:
            violations = [
                v for v in local_violations(product, known) if v.severity is Severity.ERROR
            ]
            if violations:
                for v in violations:
                    err_console.print(f"[red]{escape(product.shown)}[/]: {escape(str(v))}")
                fail(f"{product.shown} breaks the governance policies: nothing was applied")
            assert product.descriptor is not None
            by_ref[product.descriptor.ref] = product
        try:
            ordered = dependency_order([p.descriptor for p in by_ref.values() if p.descriptor])
        except ValueError as exc:
            fail(str(exc))
        plans = [(by_ref[d.ref], _plan(mesh, by_ref[d.ref], grow_partitions)) for d in ordered]
        access = plan_acls(mesh.admin, mesh_of(mesh, ordered), AccessSettings().platform())
        refused = [line for _, plan in plans for line in plan.topics.refusals]
        if dry_run or refused:
            _show_plans([plan for _, plan in plans], access, output, dry_run=True)
            if refused:
                fail("unsafe topic changes refused: nothing was applied")
            return
        with Progress(console=err_console, transient=True, disable=len(plans) < 2) as bar:
            task = bar.add_task("applying", total=len(plans))
            for product, plan in plans:
                bar.update(task, description=f"applying {plan.ref}")
                if not plan.empty:
                    _execute(mesh, product, plan)
                bar.advance(task)
        if access.diff is not None:
            apply_acl_diff(mesh.admin, access.diff)
        _show_plans([plan for _, plan in plans], access, output, dry_run=False)


def _show_plans(
    plans: list[ProductPlan], access: AccessPlan, output: OutputFormat, *, dry_run: bool
) -> None:
    if output is OutputFormat.json:
        emit_json(
            {
                "dryRun": dry_run,
                "products": [p.as_json() for p in plans],
                "access": access.as_json(),
            }
        )
        return
    verb = "would" if dry_run else "did"
    for plan in plans:
        if plan.topics.refusals:
            console.print(f"[red]{plan.ref}: refused[/]")
            for line in plan.topics.refusals:
                console.print(f"  [red]-[/] {escape(line)}")
        elif plan.empty:
            console.print(f"[green]{plan.ref}[/]: nothing to do")
        else:
            console.print(f"[cyan]{plan.ref}[/]: {verb}")
            for line in plan.lines():
                console.print(f"  - {escape(line)}")
    show_access(access, dry_run=dry_run)
    changed = sum(not p.empty for p in plans)
    if dry_run:
        console.print(f"dry run: {changed} of {len(plans)} products would change; nothing changed")
    else:
        console.print(f"{changed} of {len(plans)} products changed")


# --- catalog browsing


def _product(mesh: Mesh, ref: str, major: int | None) -> Product:
    return mesh.product(ref, major)


@product_app.command("list")
def list_products(
    domain: Annotated[str | None, typer.Option(help="Only this domain.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only products with this field tag.")] = None,
    status: Annotated[str | None, typer.Option(help="draft, active, deprecated, retired.")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Text search.")] = None,
    output: OutputFormat = OutputOption,
) -> None:
    """List the products in the catalog."""
    with open_mesh() as mesh:
        found = mesh.catalog.products(domain=domain, tag=tag, status=status, text=query)
    if output is OutputFormat.json:
        emit_json([p.model_dump(mode="json", by_alias=True) for p in found])
        return
    table = Table("product", "status", "owner", "topic", "partitions", "schema", "downstream")
    for p in found:
        d = p.descriptor
        table.add_row(
            p.ref,
            p.status.value,
            d.team.name,
            d.topic.name,
            str(d.topic.partitions),
            f"v{p.value_version} (id {p.value_schema_id})",
            ", ".join(p.downstream) or "-",
        )
    console.print(table)


@product_app.command()
def show(ref: RefArgument, major: MajorOption = None, output: OutputFormat = OutputOption) -> None:
    """Show one product: owner, topic, contract, SLOs, lineage."""
    with open_mesh() as mesh:
        p = _product(mesh, ref, major)
    if output is OutputFormat.json:
        emit_json(p.model_dump(mode="json", by_alias=True))
        return
    d = p.descriptor
    table = Table(show_header=False, box=None)
    rows: list[tuple[str, str]] = [
        ("product", p.ref),
        ("status", p.status.value),
        ("purpose", d.description.purpose),
        ("owner", f"{d.team.name} <{d.team.contact}>"),
        (
            "topic",
            f"{d.topic.name} ({d.topic.partitions} partitions, {d.topic.cleanup_policy.value}, "
            f"retention {d.topic.retention_ms} ms)",
        ),
        ("value", f"{p.value_subject} v{p.value_version} (id {p.value_schema_id})"),
        ("key", f"{p.key_subject} v{p.key_version} (id {p.key_schema_id})" if p.key_subject
         else "-"),
        ("quality", ", ".join(r.name for r in d.quality) or "-"),
        ("inputs", ", ".join(d.input_ports) or "-"),
        ("downstream", ", ".join(p.downstream) or "-"),
    ]  # fmt: skip
    if d.deprecation is not None:
        rows.append(
            ("deprecation", f"sunset {d.deprecation.sunset}, successor {d.deprecation.successor}")
        )
    for name, value in rows:
        table.add_row(f"[bold]{name}[/]", escape(value))
    console.print(table)


@product_app.command()
def lineage(
    ref: RefArgument, major: MajorOption = None, output: OutputFormat = OutputOption
) -> None:
    """Upstream and downstream products, transitively."""
    with open_mesh() as mesh:
        domain, name, chosen = parse_product(ref, major)
        graph = mesh.catalog.lineage(domain, name, chosen)
    if output is OutputFormat.json:
        emit_json(graph)
        return
    status = {n["ref"]: n.get("status") or "not in the catalog" for n in graph["nodes"]}
    tree = Tree(f"[bold]{graph['root']}[/] ({status.get(graph['root'])})")
    for label, refs in (("upstream", graph["upstream"]), ("downstream", graph["downstream"])):
        branch = tree.add(label)
        for item in refs or ["-"]:
            branch.add(f"{item} ({status[item]})" if item in status else item)
    console.print(tree)
    for edge in graph["edges"]:
        console.print(f"  {edge['source']} -> {edge['target']}")


@product_app.command()
def deprecate(
    ref: RefArgument,
    sunset: Annotated[str, typer.Option(help="When the topic stops, YYYY-MM-DD.")],
    successor: Annotated[str, typer.Option(help="The replacing product, d.p.vN.")],
    note: Annotated[str | None, typer.Option(help="Migration notes.")] = None,
    major: MajorOption = None,
    output: OutputFormat = OutputOption,
) -> None:
    """Mark a product deprecated, with its sunset date and successor."""
    try:
        date.fromisoformat(sunset)
    except ValueError:
        fail(f"--sunset {sunset!r} is not a date (YYYY-MM-DD)", ExitCode.USAGE)
    with open_mesh() as mesh:
        domain, name, chosen = parse_product(ref, major)
        p = mesh.catalog.deprecate(
            domain, name, sunset=sunset, successor=successor, note=note, major=chosen
        )
    if output is OutputFormat.json:
        emit_json(p.model_dump(mode="json", by_alias=True))
    else:
        console.print(f"{p.ref} is deprecated: sunset {sunset}, successor {successor}")


@product_app.command()
def export(
    ref: RefArgument,
    export_format: Annotated[
        str, typer.Option("--format", help="The contract standard: odcs (ODCS v3).")
    ] = "odcs",
    major: MajorOption = None,
    output: OutputFormat = OutputOption,
) -> None:
    """Export a product's data contract (ODCS v3: YAML, or JSON with --output json)."""
    if export_format != "odcs":
        fail(f"--format {export_format!r}: only odcs is supported", ExitCode.USAGE)
    with open_mesh() as mesh:
        p = _product(mesh, ref, major)
        latest = mesh.catalog.latest_version(p.value_subject)
        if latest is None:
            fail(f"{p.value_subject} has no schema in the registry")
        contract: dict[str, Any] = to_odcs(
            p.descriptor, str(latest["schema"]), bootstrap_servers=mesh.bootstrap_servers
        )
    if output is OutputFormat.json:
        emit_json(contract)
    else:
        # round-trip through JSON so dates and enums are plain YAML scalars
        plain = json.loads(json.dumps(contract, default=str))
        sys.stdout.write(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True))
