"""The marketing domain: its data products and processors."""
