"""Time from `python app.py` to the page answering HTTP 200.

    python bench/bench_startup.py [--runs 3] [--timeout 120] [--model embedded]

Starts `python app.py` on a free port of 127.0.0.1 (`GRADIO_SERVER_PORT`, `JASCO_MODEL`), polls
the page every 0.1 s until it answers HTTP 200, prints the seconds, then waits for the app's
"warm-up done" log line (the time until the first request runs at full speed) and stops it.
Repeats `--runs` times; the last line is `startup_to_http_200_s=<median>`.
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
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(model: str, timeout: float) -> tuple:
    """(seconds to HTTP 200, seconds to 'warm-up done' or None) of one start of app.py."""
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", JASCO_MODEL=model,
               GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    warm = {}

    def read_log():
        for line in proc.stdout:
            if "warm-up done" in line and "at" not in warm:
                warm["at"] = time.perf_counter() - started

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    url, ready = f"http://127.0.0.1:{port}/", None
    try:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with code {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        ready = time.perf_counter() - started
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        if ready is None:
            raise RuntimeError(f"no HTTP 200 from {url} within {timeout:g} s")
        deadline = time.perf_counter() + timeout
        while "at" not in warm and time.perf_counter() < deadline and proc.poll() is None:
            time.sleep(0.1)
        return ready, warm.get("at")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--model", default="embedded")
    args = parser.parse_args()
    times = []
    print(f"# python app.py (JASCO_MODEL={args.model}), {os.cpu_count()} CPU cores; seconds from start")
    print(f"{'run':>4} {'HTTP 200':>9} {'warm-up done':>13}")
    for i in range(args.runs):
        ready, warm = one_run(args.model, args.timeout)
        times.append(ready)
        print(f"{i + 1:>4} {ready:>9.2f} {warm if warm is None else round(warm, 2):>13}", flush=True)
    print(f"startup_to_http_200_s={statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
