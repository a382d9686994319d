"""StreamMesh's long-running services."""
