"""Unusual but legal argument forms of the numpy-style array functions: each row is one
call made on Tensors and on the same numpy arrays. The values must equal numpy's and the
gradient must pass gradcheck (finite differences, float64). One table row per call."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, gradcheck


def _arrays(*shapes):
    rng = np.random.default_rng(sum(map(sum, [s or (0,) for s in shapes])) + len(shapes))
    return [rng.normal(size=s) for s in shapes]


def _one(out):
    """A list of outputs (split) becomes one Tensor / array to compare and to check."""
    if isinstance(out, (list, tuple)):
        if isinstance(out[0], Tensor):
            return F.concatenate([o.reshape(-1) for o in out])
        return np.concatenate([np.ravel(o) for o in out])
    return out


def _pieces(out):
    return [np.asarray(o.data if isinstance(o, Tensor) else o) for o in out]


# (id, call (made with F or np as `m`), shapes of the arrays)
CASES = [
    # einsum: '...', a repeated index in one operand, implicit output, permuted output
    ("einsum ii->i", lambda m, a: m.einsum("ii->i", a), [(4, 4)]),
    ("einsum ii", lambda m, a: m.einsum("ii", a), [(3, 3)]),
    ("einsum i,i->", lambda m, a, b: m.einsum("i,i->", a, b), [(5,), (5,)]),
    ("einsum i,i", lambda m, a, b: m.einsum("i,i", a, b), [(5,), (5,)]),
    ("einsum ij,jk implicit", lambda m, a, b: m.einsum("ij,jk", a, b), [(2, 3), (3, 4)]),
    ("einsum ba implicit sorts", lambda m, a: m.einsum("ba", a), [(2, 3)]),
    ("einsum ij,jk->ki", lambda m, a, b: m.einsum("ij,jk->ki", a, b), [(2, 3), (3, 4)]),
    ("einsum ...ij->...ji", lambda m, a: m.einsum("...ij->...ji", a), [(2, 3, 4)]),
    ("einsum ...i,...i->...", lambda m, a, b: m.einsum("...i,...i->...", a, b), [(2, 3), (3,)]),
    ("einsum i...->...", lambda m, a: m.einsum("i...->...", a), [(3, 2, 4)]),
    ("einsum ...ii->...i", lambda m, a: m.einsum("...ii->...i", a), [(2, 3, 3)]),
    ("einsum ...ii implicit", lambda m, a: m.einsum("...ii", a), [(2, 3, 3)]),
    ("einsum iij->ji", lambda m, a: m.einsum("iij->ji", a), [(3, 3, 2)]),
    ("einsum iii->i", lambda m, a: m.einsum("iii->i", a), [(3, 3, 3)]),
    ("einsum ij,ij->", lambda m, a, b: m.einsum("ij,ij->", a, b), [(2, 3), (2, 3)]),
    ("einsum ii,i->i", lambda m, a, b: m.einsum("ii,i->i", a, b), [(3, 3), (3,)]),
    ("einsum i,j,k->kji", lambda m, a, b, c: m.einsum("i,j,k->kji", a, b, c), [(2,), (3,), (4,)]),
    ("einsum ...,... broadcast", lambda m, a, b: m.einsum("...,...", a, b), [(2, 1), (3,)]),
    ("einsum ij->", lambda m, a: m.einsum("ij->", a), [(2, 3)]),
    ("einsum i->i j broadcast 1", lambda m, a, b: m.einsum("ij,ij->i", a, b), [(2, 1), (2, 3)]),
    # tensordot
    ("tensordot int 0", lambda m, a, b: m.tensordot(a, b, 0), [(2, 3), (4,)]),
    ("tensordot int 1", lambda m, a, b: m.tensordot(a, b, 1), [(2, 3), (3, 4)]),
    ("tensordot int 2", lambda m, a, b: m.tensordot(a, b, 2), [(2, 3, 4), (3, 4, 5)]),
    (
        "tensordot lists",
        lambda m, a, b: m.tensordot(a, b, ([0, 2], [2, 0])),
        [(2, 3, 4), (4, 5, 2)],
    ),
    ("tensordot negative", lambda m, a, b: m.tensordot(a, b, ([-1], [-2])), [(2, 3), (4, 3, 5)]),
    ("tensordot ints pair", lambda m, a, b: m.tensordot(a, b, (1, 0)), [(2, 3), (3, 4)]),
    (
        "tensordot array axes",
        lambda m, a, b: m.tensordot(a, b, np.array([[1], [0]])),
        [(2, 3), (3, 4)],
    ),
    ("tensordot 0-d array", lambda m, a, b: m.tensordot(a, b, np.array(1)), [(2, 3), (3, 4)]),
    (
        "tensordot rows of arrays",
        lambda m, a, b: m.tensordot(a, b, (np.array([0, 1]), np.array([1, 0]))),
        [(2, 3), (3, 2)],
    ),
    ("tensordot empty lists", lambda m, a, b: m.tensordot(a, b, ([], [])), [(2,), (3,)]),
    (
        "tensordot negative pair",
        lambda m, a, b: m.tensordot(a, b, ([-1, -3], [0, 1])),
        [(2, 3, 4), (4, 2)],
    ),
    # dot / inner / outer / kron
    ("dot 3d 2d", lambda m, a, b: m.dot(a, b), [(2, 3, 4), (4, 5)]),
    ("dot 2d 3d", lambda m, a, b: m.dot(a, b), [(2, 4), (3, 4, 5)]),
    ("dot 1d 3d", lambda m, a, b: m.dot(a, b), [(4,), (3, 4, 5)]),
    ("dot 0d", lambda m, a, b: m.dot(a, b), [(), (3, 2)]),
    ("inner 3d 2d", lambda m, a, b: m.inner(a, b), [(2, 3, 4), (5, 4)]),
    ("outer 2d 2d", lambda m, a, b: m.outer(a, b), [(2, 2), (3,)]),
    ("kron 1d 2d", lambda m, a, b: m.kron(a, b), [(2,), (3, 2)]),
    ("kron 3d 2d", lambda m, a, b: m.kron(a, b), [(2, 1, 2), (2, 3)]),
    # cross with axisa / axisb / axisc
    ("cross axisa axisb", lambda m, a, b: m.cross(a, b, axisa=0, axisb=1), [(3, 4), (4, 3)]),
    ("cross axisc", lambda m, a, b: m.cross(a, b, axisc=0), [(4, 3), (4, 3)]),
    ("cross axis", lambda m, a, b: m.cross(a, b, axis=0), [(3, 2), (3, 2)]),
    (
        "cross broadcast axisb",
        lambda m, a, b: m.cross(a, b, axisa=-1, axisb=0, axisc=-2),
        [(2, 4, 3), (3, 4)],
    ),
    # diag / diagonal / trace
    ("diag 1d k=2", lambda m, a: m.diag(a, 2), [(3,)]),
    ("diag 1d k=-1", lambda m, a: m.diag(a, -1), [(3,)]),
    ("diag 2d k=1 wide", lambda m, a: m.diag(a, 1), [(3, 5)]),
    ("diag 2d k=-2 tall", lambda m, a: m.diag(a, -2), [(5, 3)]),
    ("diag 2d k beyond", lambda m, a: m.diag(a, 4), [(3, 3)]),
    ("diagonal offset axes", lambda m, a: m.diagonal(a, 1, 2, 0), [(3, 2, 4)]),
    ("diagonal negative axes", lambda m, a: m.diagonal(a, -1, -1, -3), [(3, 2, 4)]),
    ("trace offset axes", lambda m, a: m.trace(a, -1, 1, 2), [(2, 3, 4)]),
    # tril / triu, negative and large k, non-square, stacked
    ("tril k=-1 wide", lambda m, a: m.tril(a, -1), [(3, 5)]),
    ("triu k=-2 tall", lambda m, a: m.triu(a, -2), [(5, 3)]),
    ("tril k=2 tall", lambda m, a: m.tril(a, 2), [(5, 3)]),
    ("triu k=-9", lambda m, a: m.triu(a, -9), [(3, 4)]),
    ("tril stacked", lambda m, a: m.tril(a, -1), [(2, 3, 4)]),
    ("triu 1d", lambda m, a: m.triu(a, 1), [(4,)]),
    # split / array_split with index lists
    ("split indices", lambda m, a: m.split(a, [1, 3]), [(5, 2)]),
    ("split unordered", lambda m, a: m.split(a, [3, 1, 4]), [(5, 2)]),
    ("split beyond", lambda m, a: m.split(a, [2, 9]), [(5, 2)]),
    ("split negative index", lambda m, a: m.split(a, [-2]), [(5, 2)]),
    ("split axis -1", lambda m, a: m.split(a, [1], axis=-1), [(2, 3)]),
    ("array_split uneven", lambda m, a: m.array_split(a, 3, axis=1), [(2, 7)]),
    ("array_split more than n", lambda m, a: m.array_split(a, 5), [(3, 2)]),
    ("array_split indices", lambda m, a: m.array_split(a, [4, 2]), [(5,)]),
    ("hsplit 1d", lambda m, a: m.hsplit(a, [2]), [(5,)]),
    ("dsplit", lambda m, a: m.dsplit(a, [1]), [(2, 2, 3)]),
    # pad: per-axis widths and each mode
    ("pad constant per-axis", lambda m, a: m.pad(a, ((1, 2), (0, 3))), [(2, 3)]),
    (
        "pad constant values",
        lambda m, a: m.pad(a, ((1, 2), (2, 1)), constant_values=((1, 2), (3, 4))),
        [(2, 3)],
    ),
    ("pad constant one pair", lambda m, a: m.pad(a, (1, 2), constant_values=(5, 6)), [(2, 3)]),
    ("pad edge per-axis", lambda m, a: m.pad(a, ((2, 0), (1, 3)), mode="edge"), [(2, 3)]),
    ("pad reflect wide", lambda m, a: m.pad(a, ((4, 5), (1, 0)), mode="reflect"), [(3, 2)]),
    ("pad symmetric wide", lambda m, a: m.pad(a, ((5, 4), (0, 3)), mode="symmetric"), [(3, 2)]),
    ("pad wrap wide", lambda m, a: m.pad(a, ((7, 2), (3, 3)), mode="wrap"), [(3, 2)]),
    ("pad reflect length 1", lambda m, a: m.pad(a, 2, mode="reflect"), [(1, 3)]),
    ("pad int", lambda m, a: m.pad(a, 1), [(2, 2, 2)]),
    ("pad [[1,2]]", lambda m, a: m.pad(a, [[1, 2]], mode="edge"), [(2, 3)]),
    # repeat / tile / roll
    ("repeat per element", lambda m, a: m.repeat(a, [2, 0, 1], axis=1), [(2, 3)]),
    ("repeat axis None", lambda m, a: m.repeat(a, 2), [(2, 3)]),
    ("repeat per element None", lambda m, a: m.repeat(a, [1, 0, 2, 3]), [(2, 2)]),
    ("repeat axis -2", lambda m, a: m.repeat(a, [3, 1], axis=-2), [(2, 3)]),
    ("repeat array repeats", lambda m, a: m.repeat(a, np.array([1, 2]), axis=0), [(2,)]),
    ("tile longer reps", lambda m, a: m.tile(a, (2, 1, 3)), [(2, 3)]),
    ("tile shorter reps", lambda m, a: m.tile(a, 2), [(2, 3)]),
    ("tile shorter tuple", lambda m, a: m.tile(a, (2, 3)), [(2, 1, 2)]),
    ("tile 0d", lambda m, a: m.tile(a, (2, 2)), [()]),
    ("roll tuple", lambda m, a: m.roll(a, (1, -2), (0, 1)), [(3, 4)]),
    ("roll same axis twice", lambda m, a: m.roll(a, (1, 2), (1, 1)), [(3, 4)]),
    ("roll shift broadcast", lambda m, a: m.roll(a, 2, (0, 1)), [(3, 4)]),
    ("roll axes broadcast", lambda m, a: m.roll(a, (1, 2), 0), [(3, 4)]),
    (
        "roll array shifts axes",
        lambda m, a: m.roll(a, np.array([1, 3]), np.array([0, 0])),
        [(3, 4)],
    ),
    ("roll None", lambda m, a: m.roll(a, 5), [(3, 4)]),
    ("roll large negative", lambda m, a: m.roll(a, -11, axis=-1), [(3, 4)]),
    # diff
    ("diff n=2", lambda m, a: m.diff(a, 2), [(2, 5)]),
    ("diff n=3 axis 0", lambda m, a: m.diff(a, 3, axis=0), [(5, 2)]),
    ("diff prepend append", lambda m, a: m.diff(a, 2, prepend=1.5, append=[2.0, 3.0]), [(4,)]),
    ("diff prepend array", lambda m, a, b: m.diff(a, 1, axis=0, prepend=b), [(3, 2), (1, 2)]),
    ("diff append array n=2", lambda m, a, b: m.diff(a, 2, axis=-1, append=b), [(2, 3), (2, 2)]),
    ("diff prepend only", lambda m, a: m.diff(a, prepend=0.5), [(2, 3)]),
    ("diff append only", lambda m, a, b: m.diff(a, axis=0, append=b), [(2, 3), (2, 3)]),
    ("diff n=0", lambda m, a: m.diff(a, 0), [(3,)]),
    ("diff n beyond", lambda m, a: m.diff(a, 4), [(2, 3)]),
    # axes
    ("moveaxis lists", lambda m, a: m.moveaxis(a, [0, 1], [-1, 0]), [(2, 3, 4)]),
    ("moveaxis negative", lambda m, a: m.moveaxis(a, -1, 1), [(2, 3, 4)]),
    ("moveaxis tuple 3", lambda m, a: m.moveaxis(a, (2, 0, 1), (0, 1, 2)), [(2, 3, 4)]),
    ("rollaxis start", lambda m, a: m.rollaxis(a, 2, 1), [(2, 3, 4)]),
    ("rollaxis start end", lambda m, a: m.rollaxis(a, 0, 3), [(2, 3, 4)]),
    ("rollaxis negative", lambda m, a: m.rollaxis(a, -1, -2), [(2, 3, 4)]),
    ("rollaxis start -1", lambda m, a: m.rollaxis(a, 0, -1), [(2, 3, 4)]),
    ("rollaxis start -3", lambda m, a: m.rollaxis(a, 1, -3), [(2, 3, 4)]),
    ("swapaxes negative", lambda m, a: m.swapaxes(a, -1, 0), [(2, 3, 4)]),
    ("rot90 k=3 axes", lambda m, a: m.rot90(a, 3, (2, 0)), [(2, 3, 4)]),
    ("rot90 k=-1", lambda m, a: m.rot90(a, -1), [(2, 3)]),
    ("rot90 k=6", lambda m, a: m.rot90(a, 6, (1, 2)), [(2, 3, 4)]),
    ("flip tuple", lambda m, a: m.flip(a, (0, -1)), [(2, 3, 4)]),
    ("broadcast_to then sum", lambda m, a: m.broadcast_to(a, (4, 2, 3)).sum(), [(2, 1)]),
    (
        "broadcast_to new axes",
        lambda m, a: m.broadcast_to(a, (2, 3, 3)) * np.arange(18.0).reshape(2, 3, 3),
        [(3,)],
    ),
    ("broadcast_to int", lambda m, a: m.broadcast_to(a, 4), [(1,)]),
    # stacking
    ("hstack 1d", lambda m, a, b: m.hstack([a, b]), [(2,), (3,)]),
    ("vstack 1d", lambda m, a, b: m.vstack([a, b]), [(3,), (2, 3)]),
    ("dstack 1d 2d", lambda m, a, b: m.dstack([a, b]), [(3,), (1, 3)]),
    ("column_stack mixed", lambda m, a, b: m.column_stack([a, b]), [(3,), (3, 2)]),
    ("append None", lambda m, a, b: m.append(a, b), [(2, 2), (3,)]),
    ("append axis", lambda m, a, b: m.append(a, b, axis=1), [(2, 2), (2, 1)]),
    ("atleast_3d 2d", lambda m, a: m.atleast_3d(a), [(2, 3)]),
    ("atleast_3d 1d", lambda m, a: m.atleast_3d(a), [(3,)]),
    ("atleast_2d 0d", lambda m, a: m.atleast_2d(a), [()]),
    # sort / scans / clip / where
    ("sort None", lambda m, a: m.sort(a, axis=None), [(2, 3)]),
    ("sort axis 0", lambda m, a: m.sort(a, axis=0), [(3, 2)]),
    ("cumsum None", lambda m, a: m.cumsum(a), [(2, 3)]),
    ("cumprod axis -2", lambda m, a: m.cumprod(a, axis=-2), [(3, 2)]),
    ("clip array bounds", lambda m, a, b: m.clip(a, b, 0.5), [(2, 3), (3,)]),
    ("clip None lower", lambda m, a: m.clip(a, None, 0.2), [(2, 3)]),
    ("clip lower only", lambda m, a: m.clip(a, -0.2, None), [(2, 3)]),
    ("clip max < min", lambda m, a: m.clip(a, 0.5, -0.5), [(2, 3)]),
    (
        "where broadcast",
        lambda m, a, b: m.where(np.array([True, False, True]), a, b),
        [(2, 3), (2, 1)],
    ),
    ("where scalar", lambda m, a: m.where(np.array([[True], [False]]), a, 1.5), [(2, 3)]),
]


def _call(fn, module, arrays):
    return fn(module, *arrays)


@pytest.mark.parametrize("fn,shapes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_values_match_numpy(fn, shapes):
    arrays = _arrays(*shapes)
    want = _call(fn, np, arrays)
    got = _call(fn, F, [Tensor(a) for a in arrays])
    if isinstance(want, (list, tuple)):
        got, want = _pieces(got), _pieces(want)
        assert [g.shape for g in got] == [w.shape for w in want]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
        return
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn,shapes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_gradients_pass_gradcheck(fn, shapes):
    arrays = _arrays(*shapes)
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(lambda *ts: _one(_call(fn, F, ts)), tensors)


def test_roll_refuses_shifts_and_axes_past_one_dimension_as_numpy_does():
    a = np.arange(12.0).reshape(3, 4)
    with pytest.raises(ValueError, match="1D sequences"):
        np.roll(a, [[1], [2]], [0, 1])
    with pytest.raises(ValueError, match="1D sequences"):
        F.roll(Tensor(a), [[1], [2]], [0, 1])
