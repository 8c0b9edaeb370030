"""Around the product, not in it: the demo, the benchmark, data generators and the
reference checks they use. Product code never imports this package."""
