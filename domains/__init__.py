"""The mesh's domains: each owns its data products and processors."""
