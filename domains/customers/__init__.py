"""The customers domain: its data products and processors."""
