"""`make bench` / `make bench-full`: run the benchmarks, then print every headline figure.

    python bench/suite.py           # the quick set (under 10 minutes here)
    python bench/suite.py --full    # the large sizes too

Each benchmark runs as its own process (its own dev server and ports) and writes its figures
with `bench/results.py`; at the end the headline lines of the benchmarks run now are printed
together, read back from `bench/results/`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from results import headline_lines, load  # noqa: E402  (bench/ is on the path as the script folder)

# (result name, script, arguments): the quick set, then what --full adds.
QUICK: list[tuple[str, str, list[str]]] = [
    ("planner", "planner.py", ["--quick"]),
    ("backoffice_writes", "backoffice_writes.py", ["--writes", "400", "--skip-postgres"]),
    ("launch", "launch.py", ["--stores", "500"] * 5),  # best of five rounds: noisy
    ("returns", "returns.py", []),
    ("launch_scale", "launch_scale.py", ["--items", "200", "--stores", "100"]),
    ("launch_zones", "launch_zones.py", ["--items", "200", "--stores", "100"]),
]
FULL: list[tuple[str, str, list[str]]] = [
    ("planner", "planner.py", []),
    ("backoffice_writes", "backoffice_writes.py", []),
    ("launch", "launch.py", ["--stores", "500"] * 5 + ["--stores", "5000"] * 3),
    ("launch_fanout", "launch_fanout.py", []),
    ("returns", "returns.py", ["--full"]),
    ("launch_scale", "launch_scale.py", []),
    ("launch_zones", "launch_zones.py", []),
]


def main() -> int:
    parser = argparse.ArgumentParser(description="run the benchmarks and print the headlines")
    parser.add_argument("--full", action="store_true", help="the large sizes too")
    parser.add_argument("--only", action="append", help="run only these result names")
    args = parser.parse_args()
    plan = [
        entry for entry in (FULL if args.full else QUICK) if not args.only or entry[0] in args.only
    ]
    started = time.time()
    failed = []
    for _name, script, arguments in plan:
        print(f"== {script} {' '.join(arguments)}".rstrip(), flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *arguments], check=False).returncode:
            failed.append(script)
    print(f"\n== headline figures ({time.time() - started:.0f} s)")
    for name, _script, _arguments in plan:
        document = load(name)
        if document is None or document.get("finished_at", "") < time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)
        ):
            continue
        for line in headline_lines(document.get("headlines", {})):
            print(line)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
