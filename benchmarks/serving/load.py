"""A registered text model served by MLflow, under concurrent load on loopback.

    python load.py TRACKING_URI MODEL_URI OUT.json [CLIENTS [REQUESTS [WORKERS]]]

Starts `mlflow models serve -m MODEL_URI --env-manager local --workers WORKERS` on
127.0.0.1 (latency.served), then CLIENTS threads (default 8) each post REQUESTS requests
(default 200) one after another: three in four a one-row conversion of a verb, one in four
a generation of GENERATED verbs (a seed per request). Bounded: every request has a 60 s
timeout, and the loop ends when each client has sent its share. Writes the latency of
each kind (p50, p99, max), the errors (any answer but 200, or none), the wall time and the
requests per second, and the time of the largest requests the default limits take
(measured first, alone, after a few small requests warm each worker), then stops the
server.
"""

import json
import os
import platform
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from latency import served

VERBS = ("abandon", "walk", "run", "see", "take", "begin", "carry", "drink")
TENSES = ("sp", "tp", "pg", "p")
GENERATED = 5  # verbs per generation request
TIMEOUT_S = 60


def body(client: int, index: int) -> tuple[str, bytes]:
    """The index-th request of a client -> (its kind, its JSON body)."""
    if index % 4 == 3:
        rows = [{"n": GENERATED, "seed": client * 1000 + index}]
        kind = "generation"
    else:
        word = VERBS[(client + index) % len(VERBS)]
        rows = [{"word": word, "from": "sp", "to": TENSES[index % len(TENSES)]}]
        kind = "conversion"
    return kind, json.dumps({"dataframe_records": rows}).encode()


def client_loop(url: str, client: int, requests: int, out: list) -> None:
    """One client's requests, one after another; (kind, seconds, status) each."""
    for index in range(requests):
        kind, data = body(client, index)
        request = urllib.request.Request(f"{url}/invocations", data=data,
                                         headers={"Content-Type": "application/json"})
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError as error:  # refused, reset, timed out: no answer
            status = type(error).__name__
        out.append((kind, time.perf_counter() - began, status))


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values, in ms."""
    rank = max(1, round(share * len(values)))
    return round(1000 * values[rank - 1], 1)


def summary(records: list) -> dict:
    result = {}
    for kind in ("conversion", "generation", "all"):
        seconds = sorted(s for k, s, _ in records if kind in (k, "all"))
        result[kind] = {"requests": len(seconds), "p50_ms": percentile(seconds, 0.5),
                        "p99_ms": percentile(seconds, 0.99),
                        "max_ms": round(1000 * seconds[-1], 1)}
    errors = [status for _, _, status in records if status != 200]
    result["errors"] = {"count": len(errors), "kinds": sorted(set(map(str, errors)))}
    return result


def warm_up(url: str, workers: int) -> None:
    """A few small requests first: each worker's first answer pays torch's start."""
    for index in range(4 * workers):
        request = urllib.request.Request(f"{url}/invocations", data=body(0, index)[1],
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()


def at_limits(url: str) -> dict:
    """The largest requests the model's default limits take (pyfunc.LIMITS): 100 conversion
    rows, 2 x 1,000 generated verbs; the median of 3 each, in ms, before the load."""
    largest = {"conversion_100_rows": [{"word": VERBS[i % len(VERBS)], "from": "sp",
                                        "to": "p"} for i in range(100)],
               "generation_2000_verbs": [{"n": 1000, "seed": 0}, {"n": 1000, "seed": 1}]}
    times = {}
    for name, rows in largest.items():
        data = json.dumps({"dataframe_records": rows}).encode()
        seconds = []
        for _ in range(3):
            request = urllib.request.Request(f"{url}/invocations", data=data,
                                             headers={"Content-Type": "application/json"})
            began = time.perf_counter()
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                response.read()
            seconds.append(time.perf_counter() - began)
        times[f"{name}_ms"] = round(1000 * sorted(seconds)[1], 1)
    return times


def main(uri: str, model: str, out: str, clients: int = 8, requests: int = 200,
         workers: int = 1) -> None:
    records: list = []
    with served(uri, model, workers) as (url, ready_s):
        warm_up(url, workers)
        largest = at_limits(url)
        threads = [threading.Thread(target=client_loop, args=(url, c, requests, records))
                   for c in range(clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
    result = {"model": model, "clients": clients, "requests_per_client": requests,
              "workers": workers, "generated_per_request": GENERATED, **summary(records),
              "at_limits": largest,
              "wall_s": round(wall, 1), "requests_per_s": round(len(records) / wall, 1),
              "server_ready_s": round(ready_s, 1),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], *(int(a) for a in sys.argv[4:]))
