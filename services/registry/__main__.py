"""``python -m services.registry`` (and ``streammesh registry serve``): run the registry."""

from services.registry.server import serve
from services.registry.settings import get_settings


def main() -> None:
    serve(get_settings())


if __name__ == "__main__":
    main()
