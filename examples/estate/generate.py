"""Write the reference estate as JSON: ``python examples/estate/generate.py [--stores N]``.

The default arguments reproduce ``examples/estate/estate.json`` (40 stores, 200 items,
60 customers). Bigger estates for benchmarks::

    python examples/estate/generate.py --stores 5000 --out .devstack/estate-5000.json
    BACKOFFICE_ESTATE=.devstack/estate-5000.json DATABASE_URL=sqlite:///.devstack/big.db \
        python -m backoffice

Same arguments, same file (the generator is seeded).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backoffice.estate import DEFAULT_SEED, generate_estate


def _dump(doc: dict[str, object]) -> str:
    """Compact JSON with one record per line (small file, readable diffs)."""
    parts = []
    for key in sorted(doc):
        value = doc[key]
        if isinstance(value, list):
            rows = ",\n".join(json.dumps(v, separators=(",", ":"), sort_keys=True) for v in value)
            parts.append(f"{json.dumps(key)}:[\n{rows}\n]")
        else:
            parts.append(f"{json.dumps(key)}:{json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=40)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--customers", type=int, default=60)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "estate.json")
    args = parser.parse_args(argv)
    try:
        doc = generate_estate(
            stores=args.stores, items=args.items, customers=args.customers, seed=args.seed
        )
    except ValueError as err:
        parser.error(str(err))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_dump(doc))
    print(
        f"wrote {args.out}: {len(doc['stores'])} stores, {len(doc['items'])} items, "
        f"{len(doc['deals'])} deals, {len(doc['orders'])} orders"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
