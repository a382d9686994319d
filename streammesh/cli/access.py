"""``streammesh access``: SCRAM users for the mesh's principals, ACLs from the descriptors.

The commands run as the platform admin (a super user of the broker): `STREAMMESH_SASL_*` name
it, as `streammesh broker start` prints. Passwords go to files under
`STREAMMESH_ACCESS_SECRETS_DIR`, never to the terminal.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from streammesh.access import Acl, Operation, Resource, compute_acls
from streammesh.access.check import explain
from streammesh.access.credentials import (
    apply_credentials,
    mesh_users,
    plan_credentials,
    rotate_credential,
)
from streammesh.access.errors import AuthorizerMissingError
from streammesh.access.kafka import apply_acl_diff, current_acls, scram_users
from streammesh.access.plan import AccessPlan, mesh_descriptors, plan_acls
from streammesh.access.principals import ADMIN_USER, is_managed, principal, user_of
from streammesh.access.secrets import SecretStore
from streammesh.access.settings import AccessSettings
from streammesh.cli.common import collect_descriptor_files, console, open_mesh
from streammesh.cli.output import ExitCode, OutputFormat, OutputOption, emit_json, fail
from streammesh.cli.plan import load_products
from streammesh.products.descriptor import Descriptor
from streammesh.sdk import Mesh

access_app = typer.Typer(
    help="Kafka access: a SCRAM user per domain and platform service, ACLs computed from "
    "the descriptors.",
    no_args_is_help=True,
)

NO_AUTHORIZER = (
    "the broker runs without an authorizer (PLAINTEXT): start one with "
    "STREAMMESH_BROKER_SECURITY=sasl_plaintext"
)


def _local(paths: list[Path]) -> list[Descriptor]:
    products = load_products(collect_descriptor_files(paths))
    broken = [p for p in products if p.descriptor is None]
    if broken:
        fail(f"{broken[0].shown}: {broken[0].error}")
    return [p.descriptor for p in products if p.descriptor is not None]


def mesh_of(mesh: Mesh, local: list[Descriptor]) -> list[Descriptor]:
    """Every product of the catalog, the `local` descriptors in place of their copies."""
    return mesh_descriptors((p.descriptor for p in mesh.catalog.products()), local)


def show_access(plan: AccessPlan, *, dry_run: bool) -> None:
    """The access part of a plan, for people (`product apply` prints it too)."""
    if plan.diff is None:
        console.print(f"[dim]{escape(plan.note or NO_AUTHORIZER)}[/]")
        return
    verb = "would" if dry_run else "did"
    if plan.empty:
        console.print(f"[green]access[/]: nothing to do ({plan.diff.unchanged} ACLs in place)")
    else:
        added, removed = len(plan.diff.add), len(plan.diff.remove)
        console.print(f"[cyan]access[/]: {verb} add {added} and remove {removed} ACLs")
        for line in plan.lines():
            style = "red" if line.startswith("- ") else "green"
            console.print(f"  [{style}]{escape(line)}[/]")
    for unknown in plan.credentials:
        if unknown not in plan.changes:
            console.print(f"  [yellow]note[/]: {escape(str(unknown))}")


@access_app.command()
def apply(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Descriptors to use in place of the catalog's copies.", exists=True),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing.")
    ] = False,
    output: OutputFormat = OutputOption,
) -> None:
    """Make the SCRAM users the mesh needs and bring the ACLs in line with the descriptors.

    Users: one per domain of the catalog, the registry's and the monitor's; a missing one gets
    a new password in STREAMMESH_ACCESS_SECRETS_DIR. ACLs: computed from every product of the
    catalog; bindings of principals StreamMesh does not manage are never touched. Idempotent.
    """
    settings = AccessSettings()
    store = SecretStore(settings.secrets_dir)
    local = _local(paths or [])
    with open_mesh() as mesh:
        descriptors = mesh_of(mesh, local)
        plan = plan_acls(mesh.admin, descriptors, settings.platform())
        diff = plan.diff
        if diff is None:
            fail(NO_AUTHORIZER)
        existing = scram_users(mesh.admin)
        credentials = plan_credentials(
            mesh_users(descriptors, settings.platform()), existing, store
        )
        plan = dataclasses.replace(plan, credentials=credentials)
        if not dry_run:
            apply_credentials(mesh.admin, plan.changes, store)
            apply_acl_diff(mesh.admin, diff)
    if output is OutputFormat.json:
        emit_json({"dryRun": dry_run, "secretsDir": str(store.folder), **plan.as_json()})
        return
    show_access(plan, dry_run=dry_run)
    if plan.changes and not dry_run:
        console.print(f"passwords in {store.folder} (one file per user, mode 0600)")


@access_app.command()
def rotate(
    who: Annotated[str, typer.Argument(help="A domain, or a user: streammesh.registry, ...")],
) -> None:
    """Give a domain's (or a platform service's) SCRAM user a new password.

    The new password replaces its file in STREAMMESH_ACCESS_SECRETS_DIR. Connections already
    signed in keep working until they reconnect; restart the user's clients to use the new one.
    """
    user = user_of(who)
    if user == ADMIN_USER:
        fail(
            f"{ADMIN_USER} is the broker's own user (its listeners sign in with it): "
            "it is not rotated here",
            ExitCode.USAGE,
        )
    if not is_managed(principal(user)):
        fail(f"{user} is not a user StreamMesh manages", ExitCode.USAGE)
    store = SecretStore(AccessSettings().secrets_dir)
    with open_mesh() as mesh:
        rotate_credential(mesh.admin, store, user)
    console.print(f"rotated {user}: the new password is in {store.path(user)}")


@access_app.command()
def check(
    who: Annotated[str, typer.Argument(help="A domain, or a user: streammesh.monitor, ...")],
    name: Annotated[str, typer.Argument(help="The topic (or group, transactional id).")],
    operation: Annotated[str, typer.Argument(help="read, write, describe, create, ...")],
    resource: Annotated[
        Resource, typer.Option(help="What NAME is: topic, group, transactional_id.")
    ] = Resource.TOPIC,
    output: OutputFormat = OutputOption,
) -> None:
    """May WHO do OPERATION on NAME, and why: the broker's ACLs decide, the descriptors that
    granted each say why. Exit code 0 when allowed, 1 when denied."""
    try:
        op = Operation(operation.lower())
    except ValueError:
        known = ", ".join(o.value for o in Operation)
        fail(f"unknown operation {operation!r}: {known}", ExitCode.USAGE)
    asked = principal(user_of(who))
    with open_mesh() as mesh:
        computed = compute_acls(mesh_of(mesh, []), AccessSettings().platform())
        try:
            held: list[Acl] | None = current_acls(mesh.admin)
        except AuthorizerMissingError:
            held = None
    answer = explain(
        held, computed, asked, resource, name, op, super_users=(principal(ADMIN_USER),)
    )
    if output is OutputFormat.json:
        emit_json(
            {
                "principal": asked,
                "resource": resource.value,
                "name": name,
                "operation": op.value,
                "allowed": answer.allowed,
                "note": answer.note,
                "bindings": [
                    {"acl": str(acl), "grantedBy": [str(g) for g in grants]}
                    for acl, grants in answer.bindings
                ],
            }
        )
    else:
        verb = "may" if answer.allowed else "may not"
        console.print(f"{asked} {verb} {op.value} {resource.value} {escape(name)}")
        for acl, grants in answer.bindings:
            console.print(f"  {escape(str(acl))}")
            for grant in [str(g) for g in grants] or ["not computed from any descriptor"]:
                console.print(f"    granted by {escape(grant)}")
        if answer.note:
            console.print(f"  {escape(answer.note)}")
    raise typer.Exit(ExitCode.OK if answer.allowed else ExitCode.ERROR)
