"""The embedded reference retail systems: one FastAPI app, a router per system."""
