import socket
from asyncio import base_events

from service.tcp import nodelay_for_every_tcp_socket


def test_sockets_bound_with_protocol_zero_get_tcp_nodelay() -> None:
    nodelay_for_every_tcp_socket()
    nodelay_for_every_tcp_socket()  # idempotent
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # proto 0, as uvicorn binds
        assert sock.proto == 0
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        base_events._set_nodelay(sock)  # type: ignore[attr-defined]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        base_events._set_nodelay(unix)  # type: ignore[attr-defined]  # not TCP: left alone
