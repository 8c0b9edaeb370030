"""Ingest: stream CSV files, record by record and byte for byte, to the raw Kafka topics.

The API lives in :mod:`streams.ingest.producer` (``ingest_file``); the records are read by
:mod:`streams.formats.csv_source` and :mod:`streams.formats.edi_source`.
"""
