"""The one base of StreamMesh's JSON bodies: snake_case fields in Python, camelCase on the wire.

Confluent's APIs spell their JSON in camelCase (`schemaType`, `ruleSet`), and the catalog's
follows them. Both spellings are read; every dump uses the wire names, which clients read. A
wire name that is not the camelCase of its field (``schema``, ``is_compatible``) is set on the
field itself.
"""

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel


def _not_bool_or_text(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError("Input should be a JSON integer")
    return value


# An integer as JSON means one, 3 or 3.0; lax pydantic also reads true as 1 and "3" as 3.
# Last in an ``Annotated``, after the constraints, so they stay in the JSON Schema.
INTEGER_ONLY = BeforeValidator(_not_bool_or_text)
JsonInt = Annotated[int, INTEGER_ONLY]


class WireModel(BaseModel):
    """A JSON body of the registry or the catalog."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )
