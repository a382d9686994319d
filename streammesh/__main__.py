"""``python -m streammesh``: the same as the ``streammesh`` command."""

from streammesh.cli import main

if __name__ == "__main__":
    main()
