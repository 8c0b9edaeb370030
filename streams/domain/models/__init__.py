"""Validated business records (pydantic v2) and the parsing of raw CSV records into them."""
