"""E-mail parser throughput: messages per second, one process.

Parses every ``*.box``/``*.eml`` in a directory (default: the Zammad corpus
beside the project, else the test fixtures) several rounds and prints
messages/s, MB/s and the slowest message. No Django needed.

    .venv/bin/python bench/mail_parse.py [--dir PATH] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from vorgang.channels.email.parsing import parse  # noqa: E402

DEFAULT_DIRS = [
    Path(os.environ.get("VORGANG_MAIL_CORPUS", ROOT.parent / "shared" / "corpus" / "zammad-mail")),
    ROOT / "tests" / "channels" / "email" / "fixtures",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="directory with *.box / *.eml files")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    directory = args.dir or next((d for d in DEFAULT_DIRS if d.is_dir()), None)
    if directory is None:
        raise SystemExit("no mail directory found; pass --dir")
    paths = sorted([*directory.glob("*.box"), *directory.glob("*.eml")])
    if not paths:
        raise SystemExit(f"no *.box or *.eml files in {directory}")
    messages = [(path.name, path.read_bytes()) for path in paths]
    total_bytes = sum(len(raw) for _name, raw in messages)

    for _name, raw in messages:  # warm-up: imports, regex compilation, caches
        parse(raw)

    rounds: list[float] = []
    cpu_rounds: list[float] = []
    slowest: dict[str, float] = {}
    for _ in range(args.rounds):
        started, cpu_started = time.perf_counter(), time.process_time()
        for name, raw in messages:
            one = time.perf_counter()
            parse(raw)
            slowest[name] = max(slowest.get(name, 0.0), time.perf_counter() - one)
        rounds.append(time.perf_counter() - started)
        cpu_rounds.append(time.process_time() - cpu_started)

    best = min(rounds)
    median = statistics.median(rounds)
    worst_name, worst_time = max(slowest.items(), key=lambda item: item[1])
    print(f"directory        {directory}")
    print(f"messages         {len(messages)} ({total_bytes / 1e6:.1f} MB), {args.rounds} rounds")
    print(
        f"messages/s       {len(messages) / median:,.0f} (median), {len(messages) / best:,.0f} (best)"
    )
    cpu = statistics.median(cpu_rounds)
    print(f"messages/CPU-s   {len(messages) / cpu:,.0f} (median; steadier on a busy machine)")
    print(f"MB/s             {total_bytes / 1e6 / median:.1f} (median)")
    print(f"per message      {median / len(messages) * 1000:.2f} ms (mean)")
    print(f"slowest message  {worst_name}: {worst_time * 1000:.1f} ms")


if __name__ == "__main__":
    main()
