"""Writing a file whole or not at all: written unnamed (or under a temporary name), renamed.

An interrupted or failing write (Ctrl-C, a full disk, an error while drawing) leaves the
target as it was, never half written: ``os.replace`` swaps the finished file in at once.
Where Linux allows (``O_TMPFILE``), the file is written without a name, so a process
killed mid-write (SIGKILL, the out-of-memory killer) leaves nothing behind; it gets a
temporary name only for the instant before the rename. Elsewhere it is written under a
temporary name. Either name holds the process id, the thread id and a random part, so
threads and processes saving to one path never share a file; a temporary left by a dead
process is removed by the next write to the same path.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "out.csv")
>>> with written_whole(path) as partial:
...     _ = partial.write_text("class\\n0\\n")
>>> open(path).read()
'class\\n0\\n'
>>> os.listdir(os.path.dirname(path))
['out.csv']
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tinygrad_moons.validate import file_kind

# A temporary name is ".{stem}.{pid}.{thread}.{random}.partial{suffix}", the stem and the
# suffix cut so that the name stays far below any file system's 255-byte limit.
_STEM_CHARS, _SUFFIX_CHARS = 80, 16
_TEMPORARY = re.compile(r"\.(?P<stem>.*)\.(?P<pid>\d+)\.\d+\.[0-9a-f]{8}\.partial")


def temporary_name(path: Path) -> Path:
    """A name beside ``path`` that no other process or thread uses, keeping its suffix."""
    stem, suffix = path.stem[:_STEM_CHARS], path.suffix[:_SUFFIX_CHARS]
    unique = f"{os.getpid()}.{threading.get_native_id()}.{secrets.token_hex(4)}"
    return path.with_name(f".{stem}.{unique}.partial{suffix}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or a pid the system refuses to signal
        return True
    return True


def remove_stale(path: Path) -> list[Path]:
    """Remove the temporaries of ``path`` left by processes that no longer run; return them."""
    stem = path.stem[:_STEM_CHARS]
    removed = []
    with suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            match = _TEMPORARY.match(entry.name)
            if match and match["stem"] == stem and not _alive(int(match["pid"])):
                with suppress(FileNotFoundError):  # another process removed it first
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _unnamed(folder: Path) -> int | None:
    """A descriptor of a new file in ``folder`` without a name, where the system has them."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY, 0o666)  # the umask applies, as to open()
    except OSError:  # a file system without O_TMPFILE
        return None


def _name(descriptor: int, name: Path) -> None:
    """Give the unnamed file open at ``descriptor`` the name ``name`` (linkat following
    /proc's link; os.link calls plain link(), which does not, unless given a folder)."""
    folder = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(str(descriptor), name, src_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def target_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` may not be written as a file, or None: it names no file ("", a name
    ending in "/"), or it is something other than a regular file, which the rename would
    replace (a folder, a named pipe, a device, a socket, a symbolic link: never followed,
    never replaced). A path that does not exist yet is fine; its folder is not checked.

    >>> target_problem("/dev/null")
    "cannot write '/dev/null': it is a device, not a regular file"
    >>> target_problem("")
    "expected a file name, got ''"
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text or text.endswith(("/", os.sep)):
        return f"expected a file name, got {text!r}"
    try:
        mode = os.lstat(text).st_mode
    except OSError:  # absent, or unreachable: the write itself says why
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"expected a file name, got {text!r}: it is a folder"
    return f"cannot write {text!r}: it is {file_kind(mode)}, not a regular file"


@contextmanager
def written_whole(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a path to write to; rename what was written there to ``path`` if the block succeeds.

    On any exception, KeyboardInterrupt included, nothing is left and ``path`` is
    untouched. The yielded path has no suffix to read a format from: writers choosing
    a format by suffix must be told it (``savefig(..., format=...)``). A ``path`` that
    ``target_problem`` refuses (a folder, a pipe, a device, a symbolic link, "") is a
    ValueError before anything is written.
    """
    problem = target_problem(path)
    if problem is not None:
        raise ValueError(problem)
    path = Path(path)
    remove_stale(path)
    descriptor = _unnamed(path.parent)
    partial = temporary_name(path)
    try:
        if descriptor is None:
            yield partial
        else:
            yield Path(f"/proc/self/fd/{descriptor}")
            _name(descriptor, partial)
        os.replace(partial, path)
    finally:
        if descriptor is not None:
            os.close(descriptor)
        partial.unlink(missing_ok=True)
