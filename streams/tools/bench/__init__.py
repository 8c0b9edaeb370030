"""`recon bench`: the end-to-end benchmark with its baselines, in one run (docs/benchmark.md)."""
