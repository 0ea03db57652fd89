"""The backoffice API's wire schemas: request and response bodies, event envelopes, headers.

Both ends import these: the product's typed clients (``adapters/``) and the reference
systems (``backoffice/``), and the event ingress (``ingress/``) reads the envelope the
backoffice posts. Pydantic models and constants only, no I/O; the JSON shape is the
contract, so names and fields do not change. One module per system (``wire.erp``,
``wire.pos``, ``wire.wms``, ``wire.channels``, ``wire.tasks``, ``wire.fraud``), the control
plane (``wire.control``), the asynchronous events (``wire.events``), shared types
(``wire.common``) and the HTTP headers (``wire.headers``).
"""
