"""How records look on the wire and on disk: the CSV and X12 readers, Avro codecs, Kafka
header names, and the builders of the records the pipelines publish."""
