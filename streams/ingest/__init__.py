"""Ingest: stream CSV files, record by record and byte for byte, to the raw Kafka topics.

The API lives in :mod:`streams.ingest.producer` (``ingest_file``) and
:mod:`streams.formats.csv_source` (raw record reading, ``extract_field``); this package
imports nothing eagerly so that agents importing ``streams.formats.headers`` stay light.
"""
