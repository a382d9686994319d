"""Registry domain core: schema parsing, compatibility, log records, state and the façade."""
