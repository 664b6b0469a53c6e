"""Saving a module's parameters to ``.npz`` and loading them back, without running code.

A file holds one array per parameter name and, optionally, the architecture as JSON text
under ``CONFIG_KEY``. It is read with ``allow_pickle=False``: an entry holding Python
objects is refused, never unpickled. Every problem with a file (damage, pickled entries,
names or shapes that do not match) is collected first and reported in one ValueError;
the module changes only when there is none.

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

import json
import os
import zipfile
import zlib
from collections.abc import Collection
from typing import Any, Protocol

import numpy as np

CONFIG_KEY = "__config__"

# What reading a truncated or otherwise damaged .npz raises, from zipfile, zlib and numpy.
# zipfile reads flipped header bits as features it lacks (NotImplementedError: "zip file
# version 10.9", "strong encryption") or as a password-protected entry (RuntimeError).
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


class Module(Protocol):
    """What saving and loading need of a module: ``nn.Module`` has it. Naming the interface
    here, not importing nn, keeps the imports one way: nn uses checkpoint, never back."""

    def state_dict(self) -> dict[str, np.ndarray]: ...

    def state_problems(
        self, state: dict[str, Any], *, unreadable: Collection[str] = ()
    ) -> list[str]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def save(module: Module, path: str | os.PathLike, config: dict | None = None) -> None:
    """Write ``module.state_dict()`` (and ``config`` as JSON text) to the .npz ``path``.

    The file is written whole under a temporary name, then renamed: an interrupted save
    never leaves a half-written file at ``path``. The name is used as given (no ".npz"
    is appended).
    """
    arrays = module.state_dict()
    if CONFIG_KEY in arrays:
        raise ValueError(f"a parameter may not be named {CONFIG_KEY!r}: the config uses it")
    if config is not None:
        if not isinstance(config, dict):
            raise ValueError(f"config must be a dict, got {type(config).__name__}")
        try:
            text = json.dumps(config, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"config must be JSON-able: {error}") from None
        arrays[CONFIG_KEY] = np.array(text)
    path = os.fspath(path)
    # Beside the target, so the rename stays on one file system; open() applies the umask.
    temporary = f"{path}.{os.getpid()}.partial"
    try:
        with open(temporary, "wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _read(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], list[str], set[str]]:
    """The entries of the file that read cleanly, what went wrong, and the names that did not.

    A file that cannot be opened as an archive at all gives no entries and one problem.
    """
    arrays: dict[str, np.ndarray] = {}
    problems: list[str] = []
    unreadable: set[str] = set()
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except _DAMAGE as error:
        return arrays, [f"not a readable .npz file (damaged or truncated?): {error}"], unreadable
    if not isinstance(archive, np.lib.npyio.NpzFile):
        found = type(archive).__name__
        return arrays, [f"not an .npz archive of named arrays (found a single {found})"], unreadable
    with archive:
        for name in archive.files:
            try:
                arrays[name] = archive[name]
            except _DAMAGE as error:
                unreadable.add(name)
                if "allow_pickle" in str(error):
                    problems.append(f"pickled: {name!r} holds Python objects; refused")
                else:
                    problems.append(f"damaged: {name!r} cannot be read: {error}")
    return arrays, problems, unreadable


def _config(arrays: dict[str, np.ndarray]) -> dict | None:
    if CONFIG_KEY not in arrays:
        return None
    entry = arrays[CONFIG_KEY]
    if entry.dtype.kind != "U" or entry.shape != ():
        raise ValueError(f"the config entry is not JSON text (dtype {entry.dtype})")
    try:
        return json.loads(str(entry[()]))
    except json.JSONDecodeError as error:
        raise ValueError(f"the config entry is not valid JSON: {error}") from None


def load(module: Module, path: str | os.PathLike) -> None:
    """Load the parameters saved at ``path`` into ``module``.

    Refused with one ValueError listing every problem (damage, pickled entries, missing,
    unexpected or mis-shaped names), and the module unchanged, unless the file matches.
    """
    arrays, problems, unreadable = _read(path)
    arrays.pop(CONFIG_KEY, None)
    unreadable.discard(CONFIG_KEY)
    if arrays or unreadable:
        problems += module.state_problems(arrays, unreadable=unreadable)
    if problems:
        raise ValueError(
            f"cannot load {os.fspath(path)!r} into {type(module).__name__} "
            f"({len(problems)} problem(s), nothing was changed):\n  " + "\n  ".join(problems)
        )
    module.load_state_dict(arrays)


def load_config(path: str | os.PathLike) -> dict | None:
    """The config saved with the parameters at ``path``, or None if it was saved without.

    A file that is damaged is refused with a ValueError, whether or not the config is.
    """
    arrays, problems, _ = _read(path)
    if problems:
        raise ValueError(f"cannot read {os.fspath(path)!r}:\n  " + "\n  ".join(problems))
    return _config(arrays)
