"""Run the service: `payerlint serve [--host H] [--port P] [--token T] [--max-body N]`.

Logging is configured here, not left to uvicorn's defaults: uvicorn's own access log is
off (it would write the query string), and `payerlint.server.access` writes method, path,
status and duration only.
"""

from __future__ import annotations

import ipaddress
import logging.config
import os
import socket
import sys
from typing import Any

from payerlint.home import Home

TOKEN_ENV = "PAYERLINT_TOKEN"

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "payerlint.server.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(home: Home, host: str, port: int, token: str | None, max_body: int) -> int:
    import uvicorn

    from payerlint.server.app import Settings, create_app

    token = token or os.environ.get(TOKEN_ENV) or None
    if not _loopback(host) and token is None:
        print(f"payerlint serve: listening on {host} without a token: anyone who can reach this address can use "
              f"the service; set {TOKEN_ENV} or --token", file=sys.stderr)
    # The socket is bound here, before the rulebooks are loaded, so a port in use or an
    # address this machine does not have is a plain error (exit 2), not a failure of the
    # server after it started.
    try:
        listening = _bind(host, port)
    except OSError as exc:
        print(f"payerlint serve: cannot listen on {host} port {port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    app = create_app(Settings(home, token, max_body))
    port = listening.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"payerlint serve: workbench http://{shown}:{port}/  API /v1  OpenAPI /openapi.json"
          + ("  (bearer token required)" if token else ""), file=sys.stderr, flush=True)
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_config=LOGGING, server_header=False,
                            proxy_headers=False)
    uvicorn.Server(config).run(sockets=[listening])
    return 0


def _bind(host: str, port: int) -> "socket.socket":

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
