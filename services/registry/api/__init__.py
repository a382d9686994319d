"""HTTP layer of the registry: routers, wire compatibility, error rendering."""
