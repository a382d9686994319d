"""Data products as code: descriptors, governance policies, contract compilation, ODCS export.

Pure logic, no Kafka and no HTTP: the CLI and the catalog call these functions.
"""

from streammesh.products.contract import ContractRegistration, compile_contract
from streammesh.products.descriptor import Descriptor, ProductRef, Status
from streammesh.products.errors import AvroSchemaError, ContractError, DescriptorError, ProductError
from streammesh.products.loader import file_schema_loader, load_descriptor, parse_descriptor
from streammesh.products.odcs import to_odcs
from streammesh.products.policies import POLICIES, Violation, check_descriptor, describe_policies

__all__ = [
    "POLICIES",
    "AvroSchemaError",
    "ContractError",
    "ContractRegistration",
    "Descriptor",
    "DescriptorError",
    "ProductError",
    "ProductRef",
    "Status",
    "Violation",
    "check_descriptor",
    "compile_contract",
    "describe_policies",
    "file_schema_loader",
    "load_descriptor",
    "parse_descriptor",
    "to_odcs",
]
