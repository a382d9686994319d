"""Access to the mesh's Kafka: a SCRAM principal per domain and platform service, and the ACLs
computed from the descriptors (pure), applied and checked through Kafka's Admin API."""

from streammesh.access.acls import (
    Acl,
    AclDiff,
    AclSet,
    Grant,
    Operation,
    Pattern,
    Permission,
    Platform,
    Resource,
    compute_acls,
    diff_acls,
)
from streammesh.access.check import Decision, decide

__all__ = [
    "Acl",
    "AclDiff",
    "AclSet",
    "Decision",
    "Grant",
    "Operation",
    "Pattern",
    "Permission",
    "Platform",
    "Resource",
    "compute_acls",
    "decide",
    "diff_acls",
]
