"""The data-product catalog: governed descriptors kept in the registry's own Kafka log."""
