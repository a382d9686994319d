"""The quality monitor: checks every record of every active data product against its contract.

It follows the catalog, consumes each product topic in its own consumer group, checks the wire
format, the Avro body, the product's CEL rules and the event time, routes failing records to
``<topic>.dlq`` and exports Prometheus metrics for the products' SLOs.
"""
