# Local stubs: the avro package ships py.typed but leaves most of its API unannotated.
