"""Benchmark `payerlint serve`: single-claim requests per second and latency over loopback,
beside the in-process API's per-claim time on the same claims in the same run.

Starts `payerlint serve` as a child process on a free 127.0.0.1 port (no token), then a
load generator (httpx.AsyncClient, keep-alive, C concurrent connections) sends N
requests of `POST /v1/check` with one claim each, drawn from the synthetic corpus
(benchmarks/corpus.py). Latency is per request, from send to the whole response read.
Beside it, in this process: `Router.check(claim)` + `Result.dumps()` on the same claims,
one at a time; and a reference, a stdlib JSON round trip of the same claims. Traffic
stays on loopback; the run is bounded by N and stops by itself.

    pip install -e '.[server]' httpx
    PYTHONPATH=src python3 benchmarks/bench_server.py [--requests 4000] [--concurrency 8] [--claims 500]

Measured on the project's machine (2 cores, Python 3.11.7; client and server share them):
    stdlib json round trip of a claim             29.9 us
    in-process Router.check + dumps              450 us mean, p50 256 us, p99 4.5 ms (2,223 claims/s)
    HTTP, 8 connections, 4,000 requests          527 requests/s; p50 12.5 ms, p99 57.6 ms
    HTTP, 1 connection, 2,000 requests           486 requests/s; p50 1.9 ms, p99 5.9 ms
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import corpus  # noqa: E402
from serverproc import ServerProcess  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def load(base: str, bodies: list[bytes], requests: int, concurrency: int) -> tuple[list[float], float, dict]:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        # Warm-up: every connection opened, the rulebooks a claim routes to compiled.
        await asyncio.gather(*(client.post("/v1/check", content=bodies[i % len(bodies)]) for i in range(concurrency * 4)))

        async def worker() -> None:
            for n in counter:
                body = bodies[n % len(bodies)]
                started = time.perf_counter()
                answer = await client.post("/v1/check", content=body, headers={"content-type": "application/json"})
                answer.read()
                latencies.append(time.perf_counter() - started)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, elapsed, statuses


def in_process(claims: list[dict]) -> tuple[float, float, float]:
    from payerlint.api import Router

    router = Router()
    for claim in claims:  # warm-up: compile what the claims route to
        router.check(claim)
    times = []
    for claim in claims:
        started = time.perf_counter()
        router.check(claim).dumps()
        times.append(time.perf_counter() - started)
    return statistics.fmean(times), percentile(times, 50), percentile(times, 99)


def reference(claims: list[dict]) -> float:
    started = time.perf_counter()
    for claim in claims:
        json.loads(json.dumps(claim))
    return (time.perf_counter() - started) / len(claims)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--claims", type=int, default=500, help="distinct claims, sent in turn")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    claims = list(corpus.generate(args.claims, args.seed))
    bodies = [json.dumps(c).encode() for c in claims]
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
          f"{args.claims} synthetic claims (median {statistics.median(map(len, bodies)):,.0f} bytes)")

    ref = reference(claims)
    mean, p50, p99 = in_process(claims)
    print(f"reference  stdlib json round trip of a claim:            {ref * 1e6:8.1f} us/claim")
    print(f"in-process Router.check + dumps, one claim at a time:    {mean * 1e6:8.1f} us/claim mean, "
          f"p50 {p50 * 1e6:.1f} us, p99 {p99 * 1e6:.1f} us ({1 / mean:,.0f} claims/s on one core)")

    server = ServerProcess()
    try:
        latencies, elapsed, statuses = asyncio.run(load(server.base, bodies, args.requests, args.concurrency))
        rss = subprocess.run(["ps", "-o", "rss=", "-p", str(server.process.pid)], capture_output=True,
                             text=True).stdout.strip()
    finally:
        server.stop()
    rate = len(latencies) / elapsed
    print(f"HTTP       POST /v1/check, one claim per request, {args.concurrency} connections, "
          f"{len(latencies)} requests in {elapsed:.2f} s: {rate:,.0f} requests/s; "
          f"latency p50 {percentile(latencies, 50) * 1e3:.2f} ms, p99 {percentile(latencies, 99) * 1e3:.2f} ms, "
          f"max {max(latencies) * 1e3:.2f} ms; statuses {statuses}; server RSS {int(rss or 0) / 1024:.0f} MiB")
    print(f"           HTTP time per request / in-process time per claim: {elapsed / len(latencies) / mean:.1f}x "
          f"(the client shares the machine's {os.cpu_count()} cores with the server)")


if __name__ == "__main__":
    main()
