"""Writing a file whole or not at all: under a temporary name beside it, then renamed.

An interrupted or failing write (Ctrl-C, a full disk, an error while drawing) leaves the
target as it was, never half written: ``os.replace`` swaps the finished file in at once.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "out.csv")
>>> with written_whole(path) as partial:
...     _ = partial.write_text("class\\n0\\n")
>>> open(path).read()
'class\\n0\\n'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The temporary name keeps the target's suffix (``out.png`` -> ``.out.1234.partial.png``),
    so that writers choosing a format by suffix choose the right one. On any exception,
    KeyboardInterrupt included, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
