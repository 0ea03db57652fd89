"""Pydantic models and pure, deterministic business rules. No I/O, no clocks, no randomness."""
