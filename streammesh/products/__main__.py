"""`python -m streammesh.products [ROOT]`: regenerate the descriptor's published JSON Schema."""

import sys
from pathlib import Path

from streammesh.products.descriptor import write_json_schema


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    print(write_json_schema(root))


if __name__ == "__main__":
    main()
