"""The pipelines registered on the app: rebates, trade matching, three-way match."""
