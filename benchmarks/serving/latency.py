"""Latency of one conversion request to a registered text model served by MLflow.

    python latency.py TRACKING_URI MODEL_URI OUT.json [REQUESTS]

Starts `mlflow models serve -m MODEL_URI --env-manager local` on 127.0.0.1 (the
environment's bin folder on PATH, as when it is activated), waits for /ping, posts
REQUESTS (default 100) single-row conversions one after another, and stops the server.
"""

import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def served(uri: str, model: str, workers: int = 1):
    """`mlflow models serve` of `model` on 127.0.0.1 with `workers` uvicorn workers ->
    (its URL, seconds until /ping answered); stopped (its whole session) on leaving."""
    port, venv = free_port(), Path(sys.executable).parent
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri,
           "PATH": os.pathsep.join([str(venv), os.environ.get("PATH", "")])}
    started = time.perf_counter()
    server = subprocess.Popen(["mlflow", "models", "serve", "-m", model, "--env-manager",
                               "local", "-h", "127.0.0.1", "-p", str(port), "--workers",
                               str(workers)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main(uri: str, model: str, out: str, requests: int = 100) -> None:
    with served(uri, model) as (url, ready_s):
        body = json.dumps({"dataframe_records": [{"word": "abandon", "from": "sp",
                                                  "to": "p"}]}).encode()
        seconds = []
        for _ in range(requests):
            request = urllib.request.Request(f"{url}/invocations", data=body,
                                             headers={"Content-Type": "application/json"})
            began = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
            seconds.append(time.perf_counter() - began)
    ms = sorted(1000 * s for s in seconds)
    result = {"model": model, "requests": requests, "median_ms": round(statistics.median(ms), 2),
              "p90_ms": round(ms[int(0.9 * len(ms)) - 1], 2), "max_ms": round(ms[-1], 2),
              "server_ready_s": round(ready_s, 1), "answer": answer["predictions"][0],
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], *(int(a) for a in sys.argv[4:]))
