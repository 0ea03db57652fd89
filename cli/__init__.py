"""The starter CLI's command groups; `starter.py` assembles them."""
