"""Reading a user's text file, or the standard input, within a bound: never a device read
for ever, a pipe waited on, or a file larger than memory.

``read_text(path)`` takes regular files only (a FIFO is opened without blocking and then
refused), checks the size before reading, reads ``"-"`` as the standard input up to the
same bound, and strips a UTF-8 byte-order mark (Excel's "CSV UTF-8"). ``csv_rows(text)``
gives (line number, cells), a cell longer than csv's field limit a ValueError naming
its line. Every problem is a ValueError of one line.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "points.csv")
>>> _ = open(path, "w", encoding="utf-8-sig").write("0.5,1\\n")
>>> list(csv_rows(read_text(path)))
[(1, ['0.5', '1'])]
>>> read_text("/dev/zero")
Traceback (most recent call last):
...
ValueError: cannot read /dev/zero: it is a device, not a regular file
"""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
from collections.abc import Iterator

from tinygrad_moons.validate import file_kind

# The largest input read, in bytes: a CSV of a million points is about 40 MB.
MAX_INPUT_BYTES = 256 * 2**20


def _read_bounded(file: io.BufferedIOBase, limit: int, name: str) -> bytes:
    data = file.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"cannot read {name}: it holds more than {limit} bytes")
    return data


def read_text(path: str, limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` ("-": the standard input), at most
    ``limit`` bytes, a leading byte-order mark removed."""
    if path == "-":
        if sys.stdin is None:
            raise ValueError("cannot read the standard input: there is none")
        data = _read_bounded(sys.stdin.buffer, limit, "the standard input")
        path = "the standard input"
    else:
        try:
            # O_NONBLOCK: opening a FIFO for reading would wait for a writer.
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as error:
            raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
        # Checked before open(descriptor), which refuses a folder's with "Is a directory: 3".
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            os.close(descriptor)
            if stat.S_ISDIR(info.st_mode):
                raise ValueError(f"cannot read {path}: it is a folder")
            raise ValueError(
                f"cannot read {path}: it is {file_kind(info.st_mode)}, not a regular file"
            )
        with open(descriptor, "rb") as file:
            if info.st_size > limit:
                raise ValueError(
                    f"cannot read {path}: it holds {info.st_size} bytes, more than {limit}"
                )
            data = _read_bounded(file, limit, path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"cannot read {path}: it is not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None


def csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each row of the CSV ``text``."""
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ValueError(f"line {reader.line_num}: {error}") from None
        yield reader.line_num, row
