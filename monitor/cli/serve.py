"""`warcwatch serve`: the read-only web UI and JSON API (see `monitor.web`).

It listens on loopback unless told otherwise, and refuses any other address without a bearer
token in the watchlist's `[serve]` section: the archive may hold pages not meant for everyone.
"""

from __future__ import annotations

import ipaddress
import socket
import sys

import click

from monitor.cli.common import config_option, fail, load
from monitor.errors import WarcwatchError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, opened here so that a taken port is one line, not a traceback."""
    try:
        infos = socket.getaddrinfo(
            host.strip("[]"),
            port,
            type=socket.SOCK_STREAM,
            proto=socket.IPPROTO_TCP,
            flags=socket.AI_PASSIVE,
        )
    except socket.gaierror as exc:
        raise WarcwatchError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, _, _, _, address = infos[0]
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it a keep-alive client waits ~40 ms on delayed ACKs for every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise WarcwatchError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@click.command()
@config_option
@click.option(
    "--host", metavar="ADDRESS", help="address to listen on (default 127.0.0.1, or [serve] host)"
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="port (default 8080, or [serve] port; 0 picks a free one)",
)
def serve(config_path: str | None, host: str | None, port: int | None) -> None:
    """The read-only web UI and JSON API over the archive."""
    try:
        config = load(config_path, required=False)
        host = host or config.serve.host
        port = config.serve.port if port is None else port
        token = config.serve.token
        if not is_loopback(host) and token is None:
            raise WarcwatchError(
                f"refusing to serve on {host} without a token: set `token` in the [serve] section "
                "of the watchlist, or listen on 127.0.0.1"
            )
        from monitor.web.app import create_app

        app = create_app(config, token=token)
        sock = _bind(host, port)
    except WarcwatchError as exc:
        fail(exc)
    import uvicorn

    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"warcwatch: serving http://{shown}:{bound}/ "
        f"(read-only{', token required' if token else ''}; "
        "Ctrl-C stops)",
        err=True,
    )
    sys.stderr.flush()
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", server_header=False
        )
    )
    server.run(sockets=[sock])
