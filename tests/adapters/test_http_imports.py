"""An HTTP call does not look for a module on disk: httpcore asks sniffio which async
library runs each time it makes a lock, and a missing sniffio is a failed import, not
cached, that searches every path entry again (several times per call, thousands of calls
a launch)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

from httpcore._synchronization import current_async_library


class CountingFinder(MetaPathFinder):
    def __init__(self) -> None:
        self.lookups: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        self.lookups.append(fullname)
        return None  # let the real finders answer


async def test_the_async_library_is_known_without_an_import_search_per_call() -> None:
    assert current_async_library() == "asyncio"
    finder = CountingFinder()
    sys.meta_path.insert(0, finder)
    try:
        for _ in range(100):
            assert current_async_library() == "asyncio"
    finally:
        sys.meta_path.remove(finder)
    assert finder.lookups == []
