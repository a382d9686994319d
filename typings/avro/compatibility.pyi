from enum import Enum
from typing import Any

from avro.schema import Schema

class SchemaCompatibilityType(Enum):
    compatible = "compatible"
    incompatible = "incompatible"
    recursion_in_progress = "recursion_in_progress"

class SchemaCompatibilityResult:
    compatibility: SchemaCompatibilityType

class ReaderWriterCompatibilityChecker:
    def __init__(self) -> None: ...
    def get_compatibility(self, reader: Schema, writer: Schema) -> SchemaCompatibilityResult: ...

def __getattr__(name: str) -> Any: ...
