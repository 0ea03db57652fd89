"""`devstack up` after a stop: a port held only by TIME-WAIT sockets is free to restart on."""

from __future__ import annotations

import socket

from devstack.processes import free_port, port_in_use


def test_a_listening_port_is_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert port_in_use("127.0.0.1", server.getsockname()[1])


def test_a_port_left_in_time_wait_after_a_stop_is_not_in_use() -> None:
    """The server side closes first (as a stopped server does): its socket stays TIME-WAIT."""
    port = free_port()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server closes first: TIME-WAIT on the server's port
    server.close()
    client.recv(1)
    client.close()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", port))
        bind_blocked = False
    except OSError:
        bind_blocked = True
    assert bind_blocked, "the TIME-WAIT socket should block a plain bind on this kernel"
    assert not port_in_use("127.0.0.1", port)
