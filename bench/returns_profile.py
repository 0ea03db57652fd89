"""Where a returns worker's time goes: py-spy samples of every thread, summarised.

`Sampler(pid, path)` runs `py-spy record` (raw collapsed stacks, non-blocking, idle threads
left out) on a live process while a round runs; `summary(path)` sorts the samples by what
the stack is doing (a workflow activation, an activity, the SDK's core) and by the leaf
frame. py-spy is optional: without it the bench runs and says it has no profile.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

# (name, substring of a frame): the first that any frame of a stack matches, from the leaf
PARTS = (
    ("workflow code (product/bare logic)", ("workflows/", "returns_bare.py", "domain/")),
    ("pydantic (payload models)", ("pydantic",)),
    ("payload codec (AES-GCM)", ("common/codec.py", "cryptography")),
    ("workflow sandbox", ("workflow_sandbox",)),
    ("SDK workflow instance", ("_workflow_instance.py", "_workflow.py")),
    ("activities + adapters", ("activities/", "adapters/")),
    ("HTTP client (httpx/httpcore/h11)", ("httpx", "httpcore", "h11")),
    ("SDK activity worker", ("_activity.py",)),
    ("SDK core bridge", ("temporalio/bridge", "temporalio/worker/_worker.py")),
    ("asyncio event loop", ("asyncio/", "selectors.py")),
)
CONTEXTS = (
    ("workflow activations", "_workflow_instance.py"),
    ("activities", "_activity.py"),
    ("SDK core bridge", "temporalio/bridge"),
)


def py_spy() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


class Sampler:
    def __init__(self, pid: int, out: Path, rate: int = 67) -> None:
        self.out = out
        self.process: subprocess.Popen[bytes] | None = None
        binary = py_spy()
        if binary is None:
            return
        argv = [binary, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw"]
        argv += ["--nonblocking", "--output", str(out)]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def summary(path: Path, top: int = 12) -> dict[str, object] | None:
    """Share of samples per part and the leaf frames with the most samples."""
    if not path.exists():
        return None
    parts: Counter[str] = Counter()
    contexts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaves[frames[-1]] += n
        parts[_part(frames)] += n
        contexts[next((name for name, needle in CONTEXTS if needle in stack), "other")] += n
    if not total:
        return None
    return {
        "samples": total,
        "contexts": {k: round(100 * v / total, 1) for k, v in contexts.most_common()},
        "parts": {k: round(100 * v / total, 1) for k, v in parts.most_common()},
        "leaves": {k: round(100 * v / total, 1) for k, v in leaves.most_common(top)},
    }


def _part(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, needles in PARTS:
            if any(needle in frame for needle in needles):
                return name
    return "other"


def words(profile: dict[str, object] | None) -> str:
    if not profile:
        return "  (no profile: install py-spy to sample the workers)"
    contexts, parts, leaves = profile["contexts"], profile["parts"], profile["leaves"]
    assert isinstance(contexts, dict) and isinstance(parts, dict) and isinstance(leaves, dict)
    lines = ["  by context:"] + [f"  {v:5.1f}%  {k}" for k, v in contexts.items()]
    lines += ["  by part (innermost frame that names one):"]
    lines += [f"  {v:5.1f}%  {k}" for k, v in parts.items()]
    lines += ["  leaf frames:"] + [f"  {v:5.1f}%  {k}" for k, v in leaves.items()]
    return "\n".join(lines)
