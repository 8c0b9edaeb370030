"""Lab inventory manifests: rows, the per-asset book, chunk hashes (docs/inventory.md)."""
