"""The sales domain: its data products and processors."""
