"""One router per reference system."""
