"""Faust agents and tables: the stateful stream processors."""
