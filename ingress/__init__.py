"""The event ingress: events from the retail systems become signals to workflows.

Its own process (``python -m ingress``, port ``RETAIL_INGRESS_PORT``, default 8301): the
systems of record (the embedded backoffice, or a real ERP/WMS/channel through a relay)
``POST /ingress/events`` with a :class:`wire.events.IngressEvent`, and the ingress signals
the named workflow through the project's one Temporal client (``common.temporal``).
"""
