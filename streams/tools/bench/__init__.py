"""`recon bench`: the end-to-end benchmark with its baselines, in one run (issue 7)."""
