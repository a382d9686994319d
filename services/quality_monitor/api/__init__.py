"""HTTP routes of the quality monitor: `/metrics`, `/health`, `/products`."""
