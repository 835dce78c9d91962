"""Web servers the CLI runs until stopped (`ui`, `dashboard`): the port checked before the
server starts, the server in its own session so that stopping it stops every process it
started, stopped on Ctrl-C (SIGINT) or a plain `kill` (SIGTERM)."""

import os
import signal
import socket
import subprocess
import sys

from cvae_study.study.errors import UsageError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ServerError(UsageError):
    """A server cannot start as asked (its port in use, what it needs missing)."""


def warn_if_public(host: str, what: str) -> None:
    """A warning on stderr when `host` serves `what` beyond this machine."""
    if host not in LOOPBACK:
        print(f"warning: --host {host} serves {what} to your network, with no "
              "authentication", file=sys.stderr)


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        # As the servers bind: a port left in TIME_WAIT by a server just stopped is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ServerError(f"--port {port}: {host}:{port} is already in use "
                              f"({error.strerror}); choose another port") from None


def start(command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    """Stop the server and the workers it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and a plain `kill` (SIGTERM) both raise KeyboardInterrupt, even when
    this process was started with SIGINT ignored (as background jobs are)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)


def serve(process: subprocess.Popen, what: str) -> int:
    """Wait for the server until it exits or is interrupted; it is stopped either way."""
    try:
        process.wait()
    except KeyboardInterrupt:
        print(f"stopping {what}")
    finally:
        stop(process)
    return 0
