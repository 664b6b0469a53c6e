"""Saving a module's parameters to ``.npz`` and loading them back, without running code.

A file holds one array per parameter name and, optionally, the architecture as JSON text
under ``CONFIG_KEY``. Loading trusts nothing in the file: it first reads the .npy header of
each entry it needs (names, dtypes and shapes, a few hundred bytes each) and checks them
against the module; only a file that matches has its data read, so an entry declaring
10**10 numbers is refused without allocating them, and unexpected names are never read.
Entries holding Python objects are refused from their header, never unpickled. Every
problem (damage, pickled entries, names, dtypes or shapes that do not match) is collected
and reported in one ValueError; the module changes only when there is none.

>>> import os, tempfile
>>> from tinygrad_moons import nn
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> nn.save(nn.MLP([2, 3, 2], seed=0), path, config={"sizes": [2, 3, 2]})
>>> nn.load_config(path)
{'sizes': [2, 3, 2]}
>>> model = nn.MLP(nn.load_config(path)["sizes"], seed=1)
>>> nn.load(model, path)
>>> bool((model[0].weight.data == nn.MLP([2, 3, 2], seed=0)[0].weight.data).all())
True
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Any, NamedTuple, Protocol

import numpy as np

from tinygrad_moons.atomic import written_whole

CONFIG_KEY = "__config__"

# The longest config accepted, in characters: an architecture is a few dozen. The bound
# is checked on the entry's declared dtype before its text is read.
MAX_CONFIG_CHARS = 2**20

# numpy's own bound on a .npy header (np.load's max_header_size): the header is a Python
# literal that ast.literal_eval parses, and a long one can be slow or exhaust the stack.
_MAX_HEADER_BYTES = 10_000

# Data is checked in pieces of this size where it is read only to be verified.
_CHUNK_BYTES = 2**20

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
    zipfile.BadZipFile,
    zlib.error,
)

_NPY_MAGIC = b"\x93NUMPY"
# The zip compression methods an .npz file is written with, and how many bytes of data one
# byte of each can expand to at the most (deflate's limit is 1032 to 1).
MAX_EXPANSION = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1032}
_METHODS = tuple(MAX_EXPANSION)


class Module(Protocol):
    """What saving and loading need of a module: ``nn.Module`` has it. Naming the interface
    here, not importing nn, keeps the imports one way: nn uses checkpoint, never back.
    ``named_parameters`` gives the names and shapes headers are checked against."""

    def named_parameters(self) -> Iterator[tuple[str, Any]]: ...

    def state_dict(self) -> dict[str, np.ndarray]: ...

    def state_problems(
        self, state: dict[str, Any], *, unreadable: Collection[str] = ()
    ) -> list[str]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class _Header(NamedTuple):
    """What an .npy entry declares about its data, before any of the data is read."""

    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype

    @property
    def size_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _require_module(verb: str, module: Any) -> None:
    """A TypeError for what is not a module, the torch habits named: ``torch.save`` takes
    the state dict and ``torch.load`` the path first; ``nn.save`` and ``nn.load`` take the
    module first."""
    if all(callable(getattr(module, name, None)) for name in ("state_dict", "state_problems")):
        return
    given = type(module).__name__
    if isinstance(module, dict):
        given += " (a state dict: pass the module itself, whose state_dict() is saved)"
    elif isinstance(module, (str, os.PathLike)):
        given += " (a path: the module comes first)"
    raise TypeError(f"nn.{verb}(module, path, ...) needs a Module first, got {given}")


# ---------------------------------------------------------------------- save
def save(module: Module, path: str | os.PathLike, config: dict | None = None) -> None:
    """Write ``module.state_dict()`` (and ``config`` as JSON text) to the .npz ``path``.

    The file is written whole under a temporary name, then renamed: an interrupted save
    never leaves a half-written file at ``path``. The name is used as given (no ".npz"
    is appended). ``config``'s JSON text may hold at most ``MAX_CONFIG_CHARS`` characters.
    """
    _require_module("save", module)
    arrays = module.state_dict()
    if CONFIG_KEY in arrays:
        raise ValueError(f"a parameter may not be named {CONFIG_KEY!r}: the config uses it")
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


# ---------------------------------------------------------------------- reading entries
class _Unreadable(Exception):
    """Internal: the file as a whole cannot be read as an .npz archive (``str`` says why)."""


@contextmanager
def _archive(
    path: str | os.PathLike,
) -> Iterator[tuple[zipfile.ZipFile, dict[str, list[zipfile.ZipInfo]]]]:
    """The open archive and its entries by name (".npy" dropped, as np.load does).

    A name listed more than once maps to all its entries. A missing file raises
    FileNotFoundError; anything else that is not an .npz archive raises _Unreadable.
    """
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise _Unreadable("it is a directory, not a saved .npz file")
        if not stat.S_ISREG(mode):
            # zipfile would read a device such as /dev/zero, or wait on a pipe, forever.
            raise _Unreadable("it is not a regular file (a device, pipe or socket?)")
        with open(path, "rb") as file:
            start = file.read(len(_NPY_MAGIC))
    except FileNotFoundError:
        raise
    except OSError as error:
        raise _Unreadable(f"it cannot be opened: {error.strerror or error}") from None
    if start == _NPY_MAGIC:
        raise _Unreadable("not an .npz archive of named arrays (found a single .npy array)")
    try:
        archive = zipfile.ZipFile(path)
    except _DAMAGE as error:
        raise _Unreadable(f"not a readable .npz file (damaged or truncated?): {error}") from None
    with archive:
        entries: dict[str, list[zipfile.ZipInfo]] = {}
        for info in archive.infolist():
            if info.compress_type not in _METHODS:
                # np.savez stores, np.savez_compressed deflates; bzip2 and lzma have no useful
                # bound on how much a few bytes expand to.
                raise _Unreadable(
                    f"entry {info.filename!r} uses zip compression method {info.compress_type}; "
                    f"saved .npz files are stored or deflated"
                )
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            entries.setdefault(name, []).append(info)
        yield archive, entries


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


def _check_end(stream: IO[bytes]) -> None:
    """Reading past the end makes zipfile verify the entry's CRC; nothing may be left."""
    if stream.read(1):
        raise ValueError("it holds more data than its header declares")


def _read_values(stream: IO[bytes], header: _Header) -> np.ndarray:
    """The array whose ``header`` was just read from ``stream``: exactly its declared bytes."""
    data = _read_exactly(stream, header.size_bytes, "data")
    _check_end(stream)
    if not data:
        return np.zeros(header.shape, header.dtype)
    values = np.frombuffer(data, dtype=header.dtype)
    return values.reshape(header.shape, order="F" if header.fortran_order else "C")


def _verify(stream: IO[bytes], header: _Header) -> None:
    """Read the data after ``header`` in pieces, without keeping it, to find damage."""
    remaining = header.size_bytes
    while remaining:
        piece = stream.read(min(remaining, _CHUNK_BYTES))
        if not piece:
            raise ValueError(f"its data ends {remaining} bytes short of its header's size")
        remaining -= len(piece)
    _check_end(stream)


def _header_problem(name: str, header: _Header) -> str | None:
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


def _parse_config(values: np.ndarray) -> dict:
    text = str(values[()])

    def refuse_constant(name: str) -> None:
        raise ValueError(f"it holds {name}, which JSON does not allow")

    try:
        config = json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        raise ValueError("its JSON is nested too deeply to be a config") from None
    except ValueError as error:
        raise ValueError(f"it is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"it is a JSON {type(config).__name__}, not an object")
    return config


def _stand_in(header: _Header) -> np.ndarray:
    """An array of the entry's declared dtype and shape that holds no data, for
    ``Module.state_problems`` to judge: a zero-strided view for real numbers; for other
    dtypes (whose itemsize a header may declare huge) an empty array, since a wrong dtype
    is reported before any shape."""
    if header.dtype.kind not in "biuf":
        return np.empty(0, dtype=header.dtype)
    return np.broadcast_to(np.zeros((), dtype=header.dtype), header.shape)


def _duplicates(entries: dict[str, list[zipfile.ZipInfo]]) -> list[str]:
    return [
        f"damaged: {name!r} is stored {len(infos)} times"
        for name, infos in entries.items()
        if len(infos) > 1
    ]


# ---------------------------------------------------------------------- load
def _checked_state(
    module: Module, archive: zipfile.ZipFile, entries: dict[str, list[zipfile.ZipInfo]]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """(the file's parameters, its problems): headers first, data only if they all pass.

    Each entry the module needs is opened once and left open after its header, so the
    data is read from where the checked header ended.
    """
    own = {name for name, _ in module.named_parameters()}
    problems = _duplicates(entries)
    # Names in `unreadable` count as present, but are neither read nor checked for shape:
    # unexpected names (never opened), duplicates, and entries whose header is refused.
    unreadable = {name for name, infos in entries.items() if name not in own or len(infos) > 1}
    unreadable.discard(CONFIG_KEY)
    with ExitStack() as open_entries:
        headers: dict[str, tuple[IO[bytes], _Header]] = {}
        for name, infos in entries.items():
            if name in unreadable or len(infos) > 1:
                continue
            try:
                stream = open_entries.enter_context(archive.open(infos[0]))
                header = _read_header(stream)
            except _DAMAGE as error:
                problems.append(f"damaged: {name!r} cannot be read: {error}")
                unreadable.add(name)
                continue
            problem = _header_problem(name, header)
            if problem is not None:
                problems.append(problem)
                unreadable.add(name)
            else:
                headers[name] = stream, header
        stand_ins = {name: _stand_in(h) for name, (_, h) in headers.items() if name != CONFIG_KEY}
        problems += module.state_problems(stand_ins, unreadable=unreadable - {CONFIG_KEY})
        if problems:
            return {}, problems
        return _read_state(headers)


def _read_state(headers: dict[str, tuple[IO[bytes], _Header]]) -> tuple[dict, list[str]]:
    """The data after each checked header (the config parsed, not kept), and its problems."""
    state: dict[str, np.ndarray] = {}
    problems: list[str] = []
    for name, (stream, header) in headers.items():
        try:
            values = _read_values(stream, header)
            if name == CONFIG_KEY:
                _parse_config(values)
                continue
        except _DAMAGE as error:
            problems.append(f"damaged: {name!r} cannot be read: {error}")
            continue
        if not np.all(np.isfinite(values)):
            # fit never ends on such parameters (TrainingDiverged restores them).
            position = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
            problems.append(f"not finite: {name!r} holds {values[position]} at {position}")
        state[name] = values
    return state, problems


def load(module: Module, path: str | os.PathLike) -> None:
    """Load the parameters saved at ``path`` into ``module``.

    The file's names, dtypes and shapes are checked against the module from the entries'
    headers before any data is read; unexpected names are not read at all. Refused with
    one ValueError listing every problem (damage, pickled entries, missing, unexpected,
    mis-typed or mis-shaped names), and the module unchanged, unless the file matches.
    """
    _require_module("load", module)
    try:
        with _archive(path) as (archive, entries):
            state, problems = _checked_state(module, archive, entries)
    except _Unreadable as error:
        state, problems = {}, [str(error)]
    if problems:
        raise ValueError(
            f"cannot load {os.fspath(path)!r} into {type(module).__name__} "
            f"({len(problems)} problem(s), nothing was changed):\n  " + "\n  ".join(problems)
        )
    module.load_state_dict(state)


def _read_config(
    archive: zipfile.ZipFile, entries: dict[str, list[zipfile.ZipInfo]]
) -> tuple[dict | None, list]:
    """(the config or None, the file's problems); every entry's data is verified."""
    problems = _duplicates(entries)
    config = None
    for name, infos in entries.items():
        if len(infos) > 1:
            continue
        try:
            with archive.open(infos[0]) as stream:
                header = _read_header(stream)
                problem = _header_problem(name, header)
                if problem is not None:
                    problems.append(problem)
                elif name == CONFIG_KEY:
                    config = _parse_config(_read_values(stream, header))
                else:
                    _verify(stream, header)
        except _DAMAGE as error:
            problems.append(f"damaged: {name!r} cannot be read: {error}")
    return config, problems


def load_config(path: str | os.PathLike) -> dict | None:
    """The config saved with the parameters at ``path``, or None if it was saved without.

    A file that is damaged (any entry, not only the config), holds a pickled entry, or
    whose config is too long, too deeply nested or not a JSON object, is refused with a
    ValueError. The parameters' data is verified in pieces, never held in memory.
    """
    try:
        with _archive(path) as (archive, entries):
            config, problems = _read_config(archive, entries)
    except _Unreadable as error:
        problems = [str(error)]
    if problems:
        raise ValueError(f"cannot read {os.fspath(path)!r}:\n  " + "\n  ".join(problems))
    return config
