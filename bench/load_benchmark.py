"""HTTP load: N concurrent clients against a local `propscope serve`, for N = 1, 8 and 32 by default.

    python bench/load_benchmark.py [--clients 1 8 32] [--seconds 20] [--model default] [--text FILE]

Each client posts the text (the shipped sample article unless given) to /api/analyze again and again
over one kept-alive connection; a 503 is counted and the client waits the Retry-After it was given, as
a well-behaved client does. Per N: accepted requests per second, p50/p95 latency of accepted requests,
5xx and 503 counts. The server's resident memory is read from /proc after one warm-up request (before)
and after the last run once the server has been idle for --idle seconds (after). Prints a Markdown
table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # of accepted (200) requests, seconds
    busy: int = 0  # 503
    server_errors: int = 0  # other 5xx
    other: int = 0  # any other status: a bug in the benchmark or the server
    lock: threading.Lock = field(default_factory=threading.Lock)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def client(base: str, text: str, stop_at: float, tally: Tally) -> None:
    with httpx.Client(base_url=base, timeout=120) as http:
        while time.monotonic() < stop_at:
            started = time.monotonic()
            response = http.post("/api/analyze", json={"text": text})
            elapsed = time.monotonic() - started
            with tally.lock:
                if response.status_code == 200:
                    tally.latencies.append(elapsed)
                elif response.status_code == 503:
                    tally.busy += 1
                elif response.status_code >= 500:
                    tally.server_errors += 1
                else:
                    tally.other += 1
            if response.status_code == 503:
                time.sleep(min(float(response.headers.get("retry-after", "1")), max(0.0, stop_at - time.monotonic())))


def run_load(base: str, text: str, clients: int, seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    started = time.monotonic()
    stop_at = started + seconds
    threads = [threading.Thread(target=client, args=(base, text, stop_at, tally)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=20.0, help="per number of clients")
    parser.add_argument("--idle", type=float, default=5.0, help="idle time before the memory after")
    parser.add_argument("--model", default="default")
    parser.add_argument("--text", type=Path, default=REPO / "examples" / "sample_article.txt")
    args = parser.parse_args()

    text = args.text.read_text(encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "propscope.cli", "serve", "--port", str(port), "--model", args.model]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {server.stderr.read().decode() if server.stderr else ''}")
            time.sleep(0.2)
        httpx.post(f"{base}/api/analyze", json={"text": text}, timeout=120).raise_for_status()  # warm-up
        before = rss_mb(server.pid)
        rows = []
        for clients in args.clients:
            tally, wall = run_load(base, text, clients, args.seconds)
            rows.append((clients, tally, wall, rss_mb(server.pid)))
        time.sleep(args.idle)
        after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)

    single = statistics.median(rows[0][1].latencies) if rows and rows[0][1].latencies else float("nan")
    print(f"`/api/analyze` with {args.text.name} ({len(text):,} characters), model {args.model}, ", end="")
    print(f"{args.seconds:g} s per row.\n")
    print("| clients | accepted/s | p50 | p95 | p50 / 1-client p50 | 5xx but 503 | 503 | other 4xx | memory after |")
    print("|---|---|---|---|---|---|---|---|---|")
    for clients, tally, wall, memory in rows:
        lat = tally.latencies
        p50, p95 = (statistics.median(lat), percentile(lat, 95)) if lat else (float("nan"), float("nan"))
        print(
            f"| {clients} | {len(lat) / wall:.2f} | {p50:.3f} s | {p95:.3f} s | {p50 / single:.2f}x | "
            f"{tally.server_errors} | {tally.busy} | {tally.other} | {memory:.0f} MB |"
        )
    print(
        f"\nServer memory: {before:.0f} MB after one warm-up request, {after:.0f} MB after "
        f"{args.idle:g} s idle following the load ({after - before:+.0f} MB)."
    )


if __name__ == "__main__":
    main()
