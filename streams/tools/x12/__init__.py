"""X12 test-data generation and the parser's throughput benchmark."""
