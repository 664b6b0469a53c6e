"""Named arrays and a JSON config in an ``.npz`` file: written whole, read header-first.

``write(path, arrays, config)`` stores one array per name and, optionally, ``config`` as
JSON text under ``CONFIG_KEY``. ``read(path, expected)`` trusts nothing in the file and
knows nothing of modules: ``expected`` maps the names wanted to their shapes. Before any
entry is opened, the archive's directory is checked: stored or deflated entries only,
each name once, and no two entries sharing bytes (overlapping entries are how a few
hundred kilobytes inflate to gigabytes). Then the .npy header of each wanted entry (a few
hundred bytes) is checked against its expected shape; only when every header matches is
any data read, so an entry declaring 10**10 numbers is never allocated and a name not
wanted is never opened. Entries holding Python objects are refused from their header,
never unpickled. Without ``expected``, only the config is read (``nn.load_config``).

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> write(path, {"w": np.ones((2, 3))}, {"sizes": [2, 3]})
>>> arrays, config, problems = read(path, {"w": (2, 3)})
>>> arrays["w"].shape, config, problems
((2, 3), {'sizes': [2, 3]}, [])
>>> read(path, {"w": (3, 2), "b": (3,)})[2]  # doctest: +ELLIPSIS
["missing: 'b'", "mis-shaped: 'w' is (2, 3), expected (3, 2) (transposed? ...)"]
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import IO, NamedTuple

import numpy as np

from tinygrad_moons.atomic import written_whole
from tinygrad_moons.validate import array_problem, file_kind, not_finite

CONFIG_KEY = "__config__"

# The longest config accepted, in characters: an architecture is a few dozen. The bound
# is checked on the entry's declared dtype before its text is read.
MAX_CONFIG_CHARS = 2**20

# numpy's own bound on a .npy header (np.load's max_header_size): the header is a Python
# literal that ast.literal_eval parses, and a long one can be slow or exhaust the stack.
_MAX_HEADER_BYTES = 10_000

# What reading a truncated or otherwise damaged .npz raises, from zipfile, zlib and numpy.
# zipfile reads flipped header bits as features it lacks (NotImplementedError: "zip file
# version 10.9", "strong encryption") or as a password-protected entry (RuntimeError);
_DAMAGE = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zipfile.BadZipFile,
    zlib.error,
)

_NPY_MAGIC = b"\x93NUMPY"
# The zip compression methods an .npz file is written with, and how many bytes of data one
# byte of each can expand to at the most (deflate's limit is 1032 to 1). The bound holds
# for the file as a whole only because no two entries may share bytes.
MAX_EXPANSION = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1032}

# A zip local file header: signature, versions, flags, method, times, CRC, sizes, then the
# lengths of the name and the extra field that follow it (APPNOTE 4.3.7).
_LOCAL_HEADER = struct.Struct("<4s5HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"


class _Header(NamedTuple):
    """What an .npy entry declares about its data, before any of the data is read."""

    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype

    @property
    def size_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


# ---------------------------------------------------------------------- write
def write(
    path: str | os.PathLike, arrays: Mapping[str, np.ndarray], config: dict | None = None
) -> None:
    """Write ``arrays`` (and ``config`` as JSON text) to the .npz ``path``, whole or not at all.

    The name is used as given (no ".npz" is appended). ``config``'s JSON text may hold at
    most ``MAX_CONFIG_CHARS`` characters.
    """
    arrays = dict(arrays)
    if CONFIG_KEY in arrays:
        raise ValueError(f"an array may not be named {CONFIG_KEY!r}: the config uses it")
    if config is not None:
        if not isinstance(config, dict):
            raise ValueError(f"config must be a dict, got {type(config).__name__}")
        try:
            text = json.dumps(config, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as error:
            raise ValueError(f"config must be JSON-able: {error}") from None
        if len(text) > MAX_CONFIG_CHARS:
            raise ValueError(
                f"config must be at most {MAX_CONFIG_CHARS} characters of JSON, got {len(text)}"
            )
        arrays[CONFIG_KEY] = np.array(text)
    with written_whole(path) as partial, open(partial, "wb") as file:
        np.savez(file, **arrays)


# ---------------------------------------------------------------------- the archive
class _Unreadable(Exception):
    """Internal: the file as a whole cannot be read as an .npz archive (``str`` says why)."""


def _open_regular(path: str) -> int:
    """The size of the regular file at ``path``; _Unreadable for anything else."""
    try:
        mode = os.stat(path)
        if stat.S_ISDIR(mode.st_mode):
            raise _Unreadable("it is a directory, not a saved .npz file")
        if not stat.S_ISREG(mode.st_mode):
            # zipfile would read a device such as /dev/zero, or wait on a pipe, forever.
            raise _Unreadable(f"it is {file_kind(mode.st_mode)}, not a regular file")
        with open(path, "rb") as file:
            start = file.read(len(_NPY_MAGIC))
    except FileNotFoundError:
        raise
    except OSError as error:
        raise _Unreadable(f"it cannot be opened: {error.strerror or error}") from None
    if start == _NPY_MAGIC:
        raise _Unreadable("not an .npz archive of named arrays (found a single .npy array)")
    return mode.st_size


def _extent(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
    """[start, end) of the bytes ``info``'s entry occupies: local header, name, extra, data."""
    archive.fp.seek(info.header_offset)
    fields = _LOCAL_HEADER.unpack(archive.fp.read(_LOCAL_HEADER.size))
    if fields[0] != _LOCAL_SIGNATURE:
        raise _Unreadable(f"entry {info.filename!r} has no local header where it says")
    name_length, extra_length = fields[-2:]
    end = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    return info.header_offset, end + info.compress_size


def _overlap(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str | None:
    """Why the entries share bytes with each other or with the directory, if they do."""
    extents = sorted((*_extent(archive, info), info.filename) for info in infos)
    directory = getattr(archive, "start_dir", None)
    for (_, end, name), (start, _, following) in zip(extents, extents[1:]):
        if end > start:
            return f"entries {name!r} and {following!r} overlap (a zip bomb?)"
    if extents and directory is not None and extents[-1][1] > directory:
        return f"entry {extents[-1][2]!r} runs into the archive's directory"
    return None


@contextmanager
def _archive(path: str) -> Iterator[tuple[zipfile.ZipFile, dict[str, list[zipfile.ZipInfo]]]]:
    """The open archive and its entries by name (".npy" dropped, as np.load does).

    A name listed more than once maps to all its entries. A missing file raises
    FileNotFoundError; anything else that is not a sound .npz archive raises _Unreadable.
    """
    _open_regular(path)
    try:
        archive = zipfile.ZipFile(path)
    except _DAMAGE as error:
        raise _Unreadable(f"not a readable .npz file (damaged or truncated?): {error}") from None
    with archive:
        infos = archive.infolist()
        for info in infos:
            if info.compress_type not in MAX_EXPANSION:
                # np.savez stores, np.savez_compressed deflates; bzip2 and lzma have no useful
                # bound on how much a few bytes expand to.
                raise _Unreadable(
                    f"entry {info.filename!r} uses zip compression method {info.compress_type}; "
                    f"saved .npz files are stored or deflated"
                )
        try:
            overlap = _overlap(archive, infos)
        except _DAMAGE as error:
            raise _Unreadable(f"not a readable .npz file (damaged?): {error}") from None
        if overlap is not None:
            raise _Unreadable(f"damaged: {overlap}")
        entries: dict[str, list[zipfile.ZipInfo]] = {}
        for info in infos:
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            entries.setdefault(name, []).append(info)
        yield archive, entries


# ---------------------------------------------------------------------- one entry
def _read_exactly(stream: IO[bytes], size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ValueError(f"its {what} ends after {len(data)} of {size} bytes (truncated?)")
    return data


def _read_header(stream: IO[bytes]) -> _Header:
    """The declared shape, order and dtype of the .npy entry ``stream`` starts with.

    Reads the magic string and at most ``_MAX_HEADER_BYTES`` of header, checked for
    length before they are read; the header is parsed by numpy's reader, which does not
    evaluate code (it is a literal).
    """
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"it is in .npy format version {version[0]}.{version[1]}, not 1.0 or 2.0")
    length_bytes = _read_exactly(stream, 2 if version == (1, 0) else 4, "header length")
    length = int.from_bytes(length_bytes, "little")
    if length > _MAX_HEADER_BYTES:
        raise ValueError(f"its header declares {length} bytes, more than {_MAX_HEADER_BYTES}")
    header = io.BytesIO(length_bytes + _read_exactly(stream, length, "header"))
    parse = np.lib.format.read_array_header_1_0
    if version == (2, 0):
        parse = np.lib.format.read_array_header_2_0
    try:
        shape, fortran_order, dtype = parse(header)
    except Exception as error:
        # numpy's parser is not hardened against damaged literals: fuzzing found
        # TokenError, SyntaxError, TypeError and IndexError besides its ValueError. It
        # parses at most _MAX_HEADER_BYTES, so whatever it raises means a damaged header.
        raise ValueError(f"its header cannot be parsed: {error!r}") from None
    try:
        if any(isinstance(n, bool) for n in shape):
            raise ValueError
        np.broadcast_to(np.zeros((), np.uint8), shape)  # numpy's bounds on a shape, no data
    except ValueError:
        raise ValueError(f"its header declares the shape {shape}, which no array has") from None
    if dtype.subdtype is not None:
        raise ValueError(f"its header declares a sub-array dtype {dtype}")
    return _Header(tuple(shape), fortran_order, dtype)


def _read_values(stream: IO[bytes], header: _Header) -> np.ndarray:
    """The array whose ``header`` was just read from ``stream``: exactly its declared bytes.

    Reading one byte past them makes zipfile verify the entry's CRC; none may be left."""
    data = _read_exactly(stream, header.size_bytes, "data")
    if stream.read(1):
        raise ValueError("it holds more data than its header declares")
    if not data:
        return np.zeros(header.shape, header.dtype)
    values = np.frombuffer(data, dtype=header.dtype)
    return values.reshape(header.shape, order="F" if header.fortran_order else "C")


def _header_problem(name: str, header: _Header, expected: tuple[int, ...] | None) -> str | None:
    """Why an entry may not be read at all, judged from its header alone."""
    if header.dtype.hasobject:
        return f"pickled: {name!r} holds Python objects; refused"
    if name == CONFIG_KEY:
        if header.dtype.kind != "U" or header.shape != ():
            return f"the config entry is not JSON text (dtype {header.dtype}, shape {header.shape})"
        chars = header.dtype.itemsize // 4
        if chars > MAX_CONFIG_CHARS:
            return f"the config entry declares {chars} characters, more than {MAX_CONFIG_CHARS}"
        return None
    return array_problem(name, header.dtype, header.shape, expected)


def _parse_config(values: np.ndarray) -> dict:
    text = str(values[()])

    def refuse_constant(name: str) -> None:
        raise ValueError(f"it holds {name}, which JSON does not allow")

    def finite_float(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):  # 1e400 reads as inf, which write refuses to save
            raise ValueError(f"it holds the number {literal}, beyond float64's range")
        return value

    try:
        config = json.loads(text, parse_constant=refuse_constant, parse_float=finite_float)
    except RecursionError:
        raise ValueError("its JSON is nested too deeply to be a config") from None
    except ValueError as error:
        raise ValueError(f"it is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"it is a JSON {type(config).__name__}, not an object")
    return config


# ---------------------------------------------------------------------- read
def _name_problems(
    entries: dict[str, list[zipfile.ZipInfo]],
    expected: Mapping[str, tuple[int, ...]] | None,
    optional: Collection[str] = (),
) -> list[str]:
    """Names stored twice among those read; with ``expected``, missing (unless
    ``optional``) and unexpected ones."""
    stored = [
        f"damaged: {name!r} is stored {len(infos)} times"
        for name, infos in entries.items()
        if len(infos) > 1 and (name in (expected or {}) or name == CONFIG_KEY)
    ]
    if expected is None:
        return stored
    missing = [
        f"missing: {name!r}" for name in expected if name not in entries and name not in optional
    ]
    unexpected = [
        f"unexpected: {name!r}" for name in entries if name not in expected and name != CONFIG_KEY
    ]
    return stored + missing + unexpected


def _too_big(expected: Mapping[str, tuple[int, ...]], file_bytes: int) -> str | None:
    """Why the file cannot hold arrays of the expected shapes, however it is compressed:
    checked before anything is built or read from the shapes a caller got from a config."""
    wanted = sum(8 * math.prod(shape) for shape in expected.values())
    if wanted > file_bytes * max(MAX_EXPANSION.values()):
        return (
            f"the expected shapes need {wanted} bytes, more than a file of {file_bytes} "
            f"bytes can hold: the file is damaged"
        )
    return None


def read(
    path: str | os.PathLike,
    expected: Mapping[str, tuple[int, ...]] | None = None,
    optional: Collection[str] = (),
) -> tuple[dict[str, np.ndarray], dict | None, list[str]]:
    """(arrays, config, problems) of the .npz ``path``: ``expected`` maps names to shapes,
    of which the file may leave out those in ``optional``.

    ``arrays`` holds every expected name the file has, read as stored, and only when
    ``problems`` is empty; ``config`` is None when the file holds none (or cannot be
    read). ``problems`` lists damage, pickled entries, missing, unexpected, mis-typed,
    mis-shaped and non-finite arrays, each once. Without ``expected`` only the config
    entry is read. A missing file raises FileNotFoundError.
    """
    path = os.fspath(path)
    wanted = {name: tuple(shape) for name, shape in (expected or {}).items()}
    try:
        with _archive(path) as (archive, entries):
            too_big = _too_big(wanted, os.stat(path).st_size)
            if too_big is not None:
                return {}, None, [too_big]
            problems = _name_problems(entries, expected, optional)
            readable = [n for n in [*wanted, CONFIG_KEY] if len(entries.get(n, ())) == 1]
            with ExitStack() as open_entries:
                headers: dict[str, tuple[IO[bytes], _Header]] = {}
                for name in readable:
                    try:
                        stream = open_entries.enter_context(archive.open(entries[name][0]))
                        header = _read_header(stream)
                    except _DAMAGE as error:
                        problems.append(f"damaged: {name!r} cannot be read: {error}")
                        continue
                    problem = _header_problem(name, header, wanted.get(name))
                    if problem is not None:
                        problems.append(problem)
                    else:
                        headers[name] = stream, header
                if problems:
                    return {}, None, problems
                return _read_checked(headers)
    except _Unreadable as error:
        return {}, None, [str(error)]


def summary(problems: list[str], shown: int = 10) -> str:
    """``problems`` one per line: all of them, or the count and the first ``shown``.

    >>> summary([f"missing: {i}" for i in range(100_002)], shown=2)
    '100002 problems, the first 2:\\n  missing: 0\\n  missing: 1\\n  ... and 100000 more'
    """
    if len(problems) <= shown:
        return f"{len(problems)} problem(s):\n  " + "\n  ".join(problems)
    return (
        f"{len(problems)} problems, the first {shown}:\n  "
        + "\n  ".join(problems[:shown])
        + f"\n  ... and {len(problems) - shown} more"
    )


def _read_checked(
    headers: dict[str, tuple[IO[bytes], _Header]],
) -> tuple[dict[str, np.ndarray], dict | None, list[str]]:
    """The data after each checked header, the config parsed, and their problems."""
    arrays: dict[str, np.ndarray] = {}
    config = None
    problems: list[str] = []
    for name, (stream, header) in headers.items():
        try:
            values = _read_values(stream, header)
            if name == CONFIG_KEY:
                config = _parse_config(values)
                continue
        except _DAMAGE as error:
            problems.append(f"damaged: {name!r} cannot be read: {error}")
            continue
        problem = not_finite(name, values)  # fit never ends on such parameters
        if problem is not None:
            problems.append(problem)
        arrays[name] = values
    if problems:
        return {}, None, problems
    return arrays, config, []
