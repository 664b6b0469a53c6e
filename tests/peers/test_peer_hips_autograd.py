"""HIPS autograd's tests (tests/test_systematic.py, test_numpy.py, test_scalar_ops.py,
test_binary_ops.py, test_core.py, test_graphs.py, test_direct.py, test_wrappers.py,
test_jacobian.py, test_logic.py, test_misc.py), ported onto this API.

autograd's check_grads compares derivatives with central differences to second order; here
``check_grads`` does the same with gradcheck and gradgradcheck, and ``check_op`` first
compares the values with numpy's. Its forward-mode pass is exercised where autograd tests
``make_jvp`` (jvp here is built from vector-Jacobian products, so per op it adds nothing to
the second-order check).

Ported in this project's terms: numpy's functions are Tensor operators, methods and ``F``
(numpy's names, where the API lacks one the test skips naming it); numpy's aliases are
one test under the name used here (absolute, fabs -> abs; rad2deg, deg2rad -> degrees,
radians; true_divide, divide -> /; negative -> unary -; np.mod, np.remainder, operator.mod
-> %; np.reshape -> .reshape; op.add and np.add -> +); ``np.array([x, ...])`` of boxes is
``F.stack``, ``np.r_``/``np.c_`` are ``F.concatenate``; gradients are float64 whatever
the input's dtype; autograd's ``grad(f)(x)`` is ``grad(f(x), x)`` or ``backward()``.

Left out: complex inputs everywhere (float64 only here: real, imag, conj, angle,
real_if_close, the complex cases of the ufunc, einsum and dot checks, test_complex.py,
holomorphic_grad); test_linalg.py, test_fft.py, test_scipy.py (numpy.linalg, fft and scipy
are outside the API, and no issue plans them); autograd's containers and vector spaces
(test_dict, test_list, test_tuple, test_vspaces, misc.flatten), its ufunc dispatch and
builtins (test_ufunc_dispatch, test_builtins), its boxing and wrappers (numpy_version,
plain_numpy_reductions_on_box, make_diagonal, const_graph_args, partial, wrapped names and
docs, the deprecated defgrad/defvjp/quick_grad_check wrappers but one, grad_and_aux,
checkpoint), forward-mode primitives (no_jvp_def), and test_truediv.py (test_div again, for
Python 2's division).
"""

import itertools
import math
import operator

import numpy as np
import pytest
from _api import need, need_autograd, need_method, need_module, need_operator
from _checks import check_grads, check_op, leaves

import tinygrad_moons.functional as F
from tinygrad_moons import Function, Tensor, gradcheck


def randn(seed=0):
    return np.random.RandomState(seed).randn


def rand(seed=0):
    return np.random.RandomState(seed).rand


def combos(ours, expected, *arg_lists, order=2, **kwarg_lists):
    """autograd's combo_check: every combination of the arguments and keyword values."""
    names = list(kwarg_lists)
    for args in itertools.product(*arg_lists):
        for values in itertools.product(*(kwarg_lists[n] for n in names)):
            kwargs = dict(zip(names, values))
            check_op(
                lambda *t, kw=kwargs: ours(*t, **kw),
                lambda *a, kw=kwargs: expected(*a, **kw),
                *args,
                order=order,
            )


def pieces(split):
    """A function returning several tensors, as one (its pieces raveled and joined)."""
    return lambda *t, **kw: F.concatenate([p.reshape(-1) for p in split(*t, **kw)])


def np_pieces(split):
    return lambda *a, **kw: np.concatenate([p.ravel() for p in split(*a, **kw)])


def sequence(joiner):
    """A function of a sequence (np.vstack((a, b))) as a function of its items."""
    return lambda *items, **kw: joiner(list(items), **kw)


# ------------------------------------------------------------------ test_systematic.py
def transform(lims, x):
    return x * (lims[1] - lims[0]) + lims[0]


def stat_cases():
    R = randn(0)
    x, A, B, C, D = 3.5, R(), R(3), R(2, 3), R(1, 3)
    cases = [(a, {}) for a in [x, A]]
    for arrays, axes in [([B, C, D], [None, 0]), ([C, D], [None, 0, 1])]:
        for a, axis, keepdims in itertools.product(arrays, axes, [True, False]):
            cases.append((a, {"axis": axis, "keepdims": keepdims}))
    return cases


def reduces_one_value(a, kw):
    return (np.size(a) if kw.get("axis") is None else np.shape(a)[kw["axis"]]) == 1


@pytest.mark.parametrize("name", ["max", "mean", "min", "sum", "prod", "var", "std"])
def test_stat(name):
    ours = need(name)
    for a, kw in stat_cases():
        if name == "std" and reduces_one_value(a, kw):
            continue  # test_std_over_one_value
        check_op(lambda t, k=kw: ours(t, **k), lambda v, k=kw: getattr(np, name)(v, **k), a)


def test_std_over_one_value():
    # autograd's stat_check of std, its cases that reduce a single value
    for a, kw in stat_cases():
        if reduces_one_value(a, kw):
            check_op(lambda t, k=kw: t.std(**k), lambda v, k=kw: np.std(v, **k), a)


def unary_ufunc_check(ours, expected, lims=(-2, 2)):
    r = rand(0)
    values = [transform(lims, 0.4), transform(lims, r(2)), transform(lims, r(3, 2))]
    combos(ours, expected, values + [transform(lims, r(1, 2))])


UNARY = [  # numpy's name, its limits in autograd's test
    ("sin", (-2, 2)),
    ("abs", (0.1, 4.0)),
    ("arccosh", (1.1, 4.0)),
    ("arcsinh", (-0.9, 0.9)),
    ("arctanh", (-0.9, 0.9)),
    ("ceil", (-1.5, 1.5)),
    ("cos", (-2, 2)),
    ("cosh", (-2, 2)),
    ("degrees", (-2, 2)),
    ("radians", (-2, 2)),
    ("exp", (-2, 2)),
    ("exp2", (-2, 2)),
    ("expm1", (-2, 2)),
    ("floor", (-1.5, 1.5)),
    ("log", (0.2, 2.0)),
    ("log10", (0.2, 2.0)),
    ("log1p", (0.2, 2.0)),
    ("log2", (0.2, 2.0)),
    ("sign", (-2, 2)),
    ("sinh", (-2, 2)),
    ("sqrt", (1.0, 3.0)),
    ("tan", (-1.1, 1.1)),
    ("tanh", (-2, 2)),
]


@pytest.mark.parametrize("name, lims", UNARY, ids=[name for name, _ in UNARY])
def test_unary_ufunc(name, lims):
    unary_ufunc_check(need(name), getattr(np, name), lims)


def test_square():
    unary_ufunc_check(lambda x: x**2, np.square)


def binary_ufunc_check(ours, expected, lims_A=(-2, 2), lims_B=(-2, 2), same_args=True):
    r = rand(0)
    first = [0.6, r(2), r(3, 2), r(1, 2)]
    second = first if same_args else [0.7, r(2), r(3, 2), r(1, 2)]
    combos(
        ours,
        expected,
        [transform(lims_A, a) for a in first],
        [transform(lims_B, b) for b in second],
    )


def percent(x, y):
    need_operator("%")
    return x % y


BINARY = {  # autograd's test: (ours, numpy's, limits of A, of B, identical arguments)
    "add": (operator.add, np.add, (-2, 2), (-2, 2), True),
    "op_mul": (operator.mul, np.multiply, (-2, 2), (-2, 2), True),
    "op_sub": (operator.sub, np.subtract, (-2, 2), (-2, 2), True),
    "true_divide": (operator.truediv, np.true_divide, (-2, 2), (0.8, 1.2), True),
    "true_divide_neg": (operator.truediv, np.true_divide, (-2, 2), (-0.3, -2.0), True),
    "logaddexp": ("logaddexp", np.logaddexp, (-2, 2), (-2, 2), True),
    "logaddexp2": ("logaddexp2", np.logaddexp2, (-2, 2), (-2, 2), True),
    "remainder": (percent, np.remainder, (-0.9, 0.9), (0.7, 1.9), False),
    "mod": (percent, np.mod, (-2, 2), (0.8, 2.1), False),
    "mod_neg": (percent, np.mod, (-2, 2), (-0.3, -2.0), False),
    "op_mod": (percent, np.mod, (-2, 2), (0.3, 2.0), False),
    "op_mod_neg": (percent, np.mod, (-2, 2), (-0.3, -2.0), False),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_ufunc(name):
    ours, expected, lims_A, lims_B, same = BINARY[name]
    ours = need(ours) if isinstance(ours, str) else ours
    binary_ufunc_check(ours, expected, lims_A, lims_B, same)


def test_transpose():
    R = randn(0)
    for axes in [None, [0, 1, 2], [0, 2, 1], [2, 0, 1], [2, 1, 0], [1, 0, 2], [1, 2, 0]]:
        check_op(
            lambda x, a=axes: x.transpose() if a is None else x.transpose(*a),
            lambda x, a=axes: np.transpose(x, a),
            R(2, 3, 4),
        )


def test_moveaxis():
    combos(
        need("moveaxis"), np.moveaxis, [randn()(2, 3, 4)], source=[0, 1, 2], destination=[0, 1, 2]
    )


def test_repeat_combos():
    R = randn(0)
    combos(need("repeat"), np.repeat, [R(2, 3, 4), R(3, 1)], repeats=[0, 1, 2], axis=[None, 0, 1])


def test_diff():
    diff, R = need("diff"), randn(0)
    combos(diff, np.diff, [R(5, 5), R(5, 5, 5)], n=[1, 2], axis=[0, 1])
    combos(diff, np.diff, [R(1), R(1, 1)], axis=[0])
    combos(diff, np.diff, [R(1, 1), R(3, 1)], axis=[1])


def test_gradient_combos():
    gradient, R = need("gradient"), randn(0)
    combos(gradient, np.gradient, [R(5, 5)], axis=[0, 1, -1])
    combos(gradient, np.gradient, [R(5, 5, 5)], axis=[0, 1, -1])


def test_tile():
    tile, R = need("tile"), randn(0)
    combos(tile, np.tile, [R(2, 1, 3, 1)], reps=[(1, 4, 1, 2)])
    combos(tile, np.tile, [R(1, 2)], reps=[(1, 2), (2, 3), (3, 2, 1)])
    combos(tile, np.tile, [R(1)], reps=[(2,), 2])


def test_kron():
    R = randn(0)
    combos(
        need("kron"),
        np.kron,
        [R(3, 3), R(2, 2), R(3), R(3, 1), R(1, 3), R()],
        [R(2, 2), R(3), R(1, 2), R(2, 1), R()],
    )


def test_inner():
    R = randn(0)
    combos(need("inner"), np.inner, [1.5, R(3), R(2, 3)], [0.3, R(3), R(4, 3)])


def test_dot():
    R = randn(0)
    combos(need("dot"), np.dot, [1.5, R(3), R(2, 3), R(2, 2, 3)], [0.3, R(3), R(3, 4), R(2, 3, 4)])


def test_outer():
    R = randn(0)
    combos(need("outer"), np.outer, [R(3)], [R(3)])


def test_matmul():
    R = randn(0)
    combos(operator.matmul, np.matmul, [R(3), R(2, 3), R(2, 2, 3)], [R(3), R(3, 4), R(2, 3, 4)])


def test_matmul_broadcast():
    R = randn(0)
    combos(operator.matmul, np.matmul, [R(1, 2, 2)], [R(3, 2, 1)])


TENSORDOT = {  # autograd's test: (first arguments, second arguments, axes)
    "1": ([(1, 3), (2, 3, 2)], [(3,), (3, 1), (3, 4, 2)], [[(1,), (0,)]]),
    "2": ([(3,), (3, 1), (3, 4, 2)], [(1, 3), (2, 3, 2)], [[(0,), (1,)]]),
    "3": ([(2, 3), (2, 3, 4)], [(1, 2, 3), (2, 2, 3, 4)], [[(0, 1), (1, 2)], [(1, 0), (2, 1)]]),
    "4": ([(2, 2), (4, 2, 2)], [(2, 2), (2, 2, 4)], [1, 2]),
    "5": ([(4,)], [()], [0]),
    "6": ([(2, 6)], [(6, 3)], [[[-1], [0]]]),
    "7": ([(2, 6)], [(6, 3)], [[-1, 0]]),
    "8": ([(2,)], [(2, 2)], [[0, 1]]),
}


@pytest.mark.parametrize("case", list(TENSORDOT))
def test_tensordot(case):
    tensordot, R = need("tensordot"), randn(0)
    firsts, seconds, axes_list = TENSORDOT[case]
    for a, b, axes in itertools.product(firsts, seconds, axes_list):
        x, y = R(*a), R(*b)
        try:
            np.tensordot(x, y, axes)
        except (ValueError, IndexError):
            continue  # a combination numpy refuses: autograd's combo_check skipped it too
        check_op(
            lambda s, t, ax=axes: tensordot(s, t, ax),
            lambda s, t, ax=axes: np.tensordot(s, t, ax),
            x,
            y,
        )


@pytest.mark.parametrize("name", ["maximum", "fmax", "minimum", "fmin"])
def test_maximum_minimum(name):
    R = randn(0)
    shapes = [R(1), R(1, 4), R(3, 4)]
    combos(need(name), getattr(np, name), shapes, [R(1), R(1, 4), R(3, 4)])


def test_sort():
    combos(need("sort"), np.sort, [randn()(1), randn()(7)])


def test_partition():
    combos(need("partition"), np.partition, [randn()(7), randn()(14)], kth=[0, 3, 6])


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast(name):
    R = randn(0)
    values = [1.2, R(1), R(7), R(1, 4), R(2, 4), R(2, 4, 5), R(2, 4, 3, 5)]
    combos(need(name), getattr(np, name), values)


EINSUM = {  # autograd's test: (subscripts, shapes of the operands, one list per operand)
    "transpose": ("ij->ji", [[(1, 1), (4, 4), (3, 4)]]),
    "matmult": ("ij,jk->ik", [[(2, 3)], [(3, 4)]]),
    "matmult_broadcast": ("...ij,...jk->...ik", [[(2, 3), (2, 2, 3)], [(3, 4), (2, 3, 4)]]),
    "matmult_broadcast_leadzero": ("...ij,...jk->...ik", [[(0, 2, 3)], [(0, 3, 4)]]),
    "covsum": ("ijk,lji->lki", [[(3, 4, 4)], [(4, 4, 3)]]),
    "ellipses": ("...jk,...lj->...lk", [[(4, 4), (3, 4, 4)], [(4, 4), (3, 4, 4)]]),
    "ellipses_elementwise": ("...,...->...", [[(4, 4), (3, 4, 4)], [(4, 4), (3, 4, 4)]]),
    "ellipses_tail": ("jk...,lj...->lk...", [[(3, 2), (3, 2, 4)], [(2, 3), (2, 3, 4)]]),
    "ellipses_center": ("j...k,lj...->lk...", [[(2, 2), (2, 2, 2)], [(2, 2), (2, 2, 2)]]),
    "three_args": ("ijk,lji,lli->lki", [[(3, 4, 4)], [(4, 4, 3)], [(4, 4, 3)]]),
    "naked_sum": ("k,nk->", [[(5,)], [(10, 5)]]),
    "naked_sum2": ("abcd->bd", [[(3, 2, 3, 2)]]),
    "naked_sum_ellipsis": ("...k,...nk->...", [[(3, 5)], [(3, 10, 5)]]),
    "no_output_indices": ("ij,k", [[(3, 4)], [(3,)]]),
}


@pytest.mark.parametrize("case", list(EINSUM))
def test_einsum(case):
    einsum, R = need("einsum"), randn(0)
    subscripts, operand_shapes = EINSUM[case]
    for shapes in itertools.product(*operand_shapes):
        arrays = [R(*s) for s in shapes]
        try:
            np.einsum(subscripts, *arrays)
        except ValueError:
            continue  # shapes numpy refuses together
        check_op(lambda *t: einsum(subscripts, *t), lambda *a: np.einsum(subscripts, *a), *arrays)


EINSUM_SUBLISTS = {  # numpy's other calling form: operand, its axes, ..., output axes
    "transpose": ([[(1, 1), (4, 4), (3, 4)]], [(0, 1)], (1, 0)),
    "matmult": ([[(2, 3)], [(3, 4)]], [(0, 1), (1, 2)], (0, 2)),
    "matmult_broadcast": (
        [[(2, 3), (2, 2, 3)], [(3, 4), (2, 3, 4)]],
        [(Ellipsis, 0, 1), (Ellipsis, 1, 2)],
        (Ellipsis, 0, 2),
    ),
    "covsum": ([[(3, 4, 4)], [(4, 4, 3)]], [(0, 1, 2), (3, 1, 0)], (3, 2, 0)),
    "three_args": (
        [[(3, 4, 4)], [(4, 4, 3)], [(4, 4, 3)]],
        [(0, 1, 2), (3, 1, 0), (3, 3, 0)],
        (3, 2, 0),
    ),
}


@pytest.mark.parametrize("case", list(EINSUM_SUBLISTS))
def test_einsum_sublists(case):
    einsum, R = need("einsum"), randn(0)
    operand_shapes, sublists, output = EINSUM_SUBLISTS[case]
    for shapes in itertools.product(*operand_shapes):
        arrays = [R(*s) for s in shapes]

        def interleave(operands):
            return [item for pair in zip(operands, sublists) for item in pair] + [list(output)]

        check_op(lambda *t: einsum(*interleave(t)), lambda *a: np.einsum(*interleave(a)), *arrays)


def test_trace_combos():
    R = randn(0)
    combos(need("trace"), np.trace, [R(5, 5), R(4, 5), R(5, 4), R(3, 4, 5)], offset=[-1, 0, 1])


@pytest.mark.parametrize("shape", [(5, 5), (5,)], ids=["diag", "diag_flat"])
def test_diag_combos(shape):
    combos(need("diag"), np.diag, [randn()(*shape)], k=[-1, 0, 1])


@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize("shape", [(5, 5), (5, 5, 4)], ids=["2d", "3d"])
def test_tril_triu(name, shape):
    combos(need(name), getattr(np, name), [randn()(*shape)], k=[-1, 0, 1])


def test_swapaxes():
    combos(need("swapaxes"), np.swapaxes, [randn()(3, 4, 5)], axis1=[0, 1, 2], axis2=[0, 1, 2])


def test_rollaxis():
    combos(need("rollaxis"), np.rollaxis, [randn()(2, 3, 4)], axis=[0, 1, 2], start=[0, 1, 2])


def test_cross():
    cross, R = need("cross"), randn(0)
    for axisa, axisb, axisc, axis in itertools.product(*[[-1, 0, 1]] * 3, [None, -1, 0, 1]):
        kw = dict(axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)
        check_op(
            lambda a, b, k=kw: cross(a, b, **k),
            lambda a, b, k=kw: np.cross(a, b, **k),
            R(3, 3),
            R(3, 3),
        )


SPLITS = {  # autograd's test: (numpy's name, input shapes, sections, axes or None)
    "vsplit_2d": ("vsplit", [(4, 8)], [4, [1, 2]], None),
    "vsplit_3d": ("vsplit", [(4, 4, 4)], [2, [1, 2]], None),
    "hsplit_2d": ("hsplit", [(4, 8)], [4, [1, 2]], None),
    "hsplit_3d": ("hsplit", [(4, 4, 4)], [2, [1, 2]], None),
    "dsplit_3d": ("dsplit", [(4, 4, 4)], [2, [1, 2]], None),
    "split_1d": ("split", [(1,), (7,)], [1], [0]),
    "split_2d": ("split", [(4, 8)], [4, [1, 2]], [0, 1]),
    "split_3d": ("split", [(4, 4, 4)], [2, [1, 2]], [0, 1, 2]),
    "array_split_1d": ("array_split", [(1,), (7,)], [1, 3], [0]),
    "array_split_2d": ("array_split", [(7, 7)], [4, [3, 5]], [0, 1]),
    "array_split_3d": ("array_split", [(7, 7, 7)], [4, [3, 5]], [0, 1, 2]),
}


@pytest.mark.parametrize("case", list(SPLITS))
def test_split(case):
    name, shapes, sections, axes = SPLITS[case]
    split, R = need(name), randn(0)
    for shape, section, axis in itertools.product(shapes, sections, axes or [None]):
        kw = {} if axis is None else {"axis": axis}
        x = R(*shape)
        try:
            getattr(np, name)(x, section, **kw)
        except ValueError:
            continue  # sections numpy refuses for this shape
        check_op(
            pieces(lambda t, s=section, k=kw: split(t, s, **k)),
            np_pieces(lambda a, s=section, k=kw: getattr(np, name)(a, s, **k)),
            x,
        )


@pytest.mark.parametrize(
    "shapes, axes",
    [([(1,), (3,)], [0]), ([(2, 2), (2, 2)], [0, 1]), ([(2, 2, 2), (2, 2, 2)], [0, 1, 2])],
    ids=["list", "2d", "3d"],
)
def test_concatenate_combos(shapes, axes):
    R = randn(0)
    arrays = [R(*s) for s in shapes]
    combos(sequence(F.concatenate), sequence(np.concatenate), *[[a] for a in arrays], axis=axes)


def test_concatenate_tuple():
    R = randn(0)
    a, b = R(1), R(3)
    check_op(lambda x, y: F.concatenate((x, y)), lambda x, y: np.concatenate((x, y)), a, b)


STACKS = {  # autograd's test: (numpy's name, the shapes of the items joined)
    "vstack_1d": ("vstack", [(2,), (2,)]),
    "vstack_2d": ("vstack", [(2, 4), (1, 4)]),
    "vstack_3d": ("vstack", [(2, 3, 4), (5, 3, 4)]),
    "hstack_1d": ("hstack", [(2,), (2,)]),
    "hstack_2d": ("hstack", [(3, 4), (3, 5)]),
    "hstack_3d": ("hstack", [(2, 1, 4), (2, 5, 4)]),
    "row_stack_1d": ("vstack", [(2,), (2,)]),
    "row_stack_2d": ("vstack", [(2, 4), (1, 4)]),
    "column_stack_1d": ("column_stack", [(2,), (2,)]),
    "column_stack_2d": ("column_stack", [(2, 2), (2, 2)]),
}


@pytest.mark.parametrize("case", list(STACKS))
def test_stacks(case):
    name, shapes = STACKS[case]
    join, R = need(name), randn(0)
    arrays = [R(*s) for s in shapes]
    check_op(sequence(join), sequence(getattr(np, name)), *arrays)
    check_op(sequence(join), sequence(getattr(np, name)), arrays[0])


def test_stack_1d():
    R = randn(0)
    combos(sequence(F.stack), sequence(np.stack), [R(2)], axis=[0, 1])
    combos(sequence(F.stack), sequence(np.stack), [R(2)], [R(2)], axis=[0, 1])


def test_select():
    select, R = need("select"), randn(0)
    conditions = [R(3, 4, 5) > 0, R(3, 4, 5) > 0, R(3, 4, 5) > 0]
    for default in [0.0, 1.1]:
        check_op(
            lambda *t, d=default: select(conditions, list(t), default=d),
            lambda *a, d=default: np.select(conditions, list(a), default=d),
            R(3, 4, 5),
            R(3, 4, 5),
            R(3, 4, 5),
        )


def test_pad_combos():
    pad = need("pad")
    widths = [0, 3, (3,), (3, 2), ((3, 2),), ((1, 2), (3, 4)), ((0, 0), (0, 0))]
    combos(pad, np.pad, [randn()(2, 2)], pad_width=widths, mode=["constant"])


# ------------------------------------------------------------------ test_numpy.py
def test_dot_shapes():
    dot, R = need("dot"), randn(1)
    mat1, mat2, vect1, vect2, vect3 = R(10, 11), R(10, 11), R(10), R(11), R(11)
    for a, b in [(mat1, vect2), (mat1, mat2.T), (vect1, mat1), (vect2, vect3)]:
        check_op(dot, np.dot, a, b)


def test_dot_with_floats():
    dot, R = need("dot"), randn(1)
    mat1, vect1, float1 = R(10, 11), R(10), R()
    for a, b in [(mat1, float1), (float1, mat1), (vect1, float1), (float1, vect1)]:
        check_op(dot, np.dot, a, b)


def test_outer_vectors():
    outer, R = need("outer"), randn(1)
    vect2, vect3 = R(11), R(11)
    check_op(outer, np.outer, vect2, vect3)


@pytest.mark.parametrize(
    "method, kwargs, shape",
    [
        ("max", {}, (10, 11)),
        ("max", {"axis": 1}, (3, 4, 5)),
        ("max", {"axis": 1, "keepdims": True}, (3, 4, 5)),
        ("min", {}, (10, 11)),
        ("min", {"axis": 1}, (3, 4, 5)),
        ("min", {"axis": 1, "keepdims": True}, (3, 4, 5)),
        ("sum", {}, (10, 11)),
        ("sum", {"axis": 0}, (10, 11)),
        ("sum", {"axis": 0, "keepdims": True}, (10, 11)),
        ("sum", {"axis": (1, 2)}, (10, 11, 7)),
        ("mean", {}, (10, 11)),
        ("mean", {"axis": 0}, (10, 11)),
        ("mean", {"axis": 0, "keepdims": True}, (10, 11)),
    ],
    ids=[
        "max",
        "max_axis",
        "max_axis_keepdims",
        "min",
        "min_axis",
        "min_axis_keepdims",
        "sum_1",
        "sum_2",
        "sum_3",
        "sum_with_axis_tuple",
        "mean_1",
        "mean_2",
        "mean_3",
    ],
)
def test_reduction(method, kwargs, shape):
    check_op(
        lambda x: getattr(x, method)(**kwargs),
        lambda x: getattr(np, method)(x, **kwargs),
        randn(1)(*shape),
    )


def test_numpy_reductions_refuse_a_tensor_that_requires_grad():
    # autograd's plain numpy reductions on a box; here numpy would drop the gradient,
    # so numpy's own functions refuse such a tensor
    (x,) = leaves(np.abs(randn(1)(5)) + 0.5)
    for reduction in (np.sum, np.prod, np.max, np.min):
        with pytest.raises(TypeError, match="requires grad"):
            reduction(x.exp())


@pytest.mark.parametrize("name", ["flipud", "fliplr", "rot90"])
def test_flips(name):
    check_op(need(name), getattr(np, name), randn(1)(10, 11))


@pytest.mark.parametrize(
    "axis, shape",
    [(0, (10, 11)), (1, (10, 11)), (None, (10,)), (None, (10, 11))],
    ids=["axis0", "axis1", "1d", "no_axis"],
)
def test_cumsum(axis, shape):
    cumsum = need("cumsum")
    check_op(lambda x: cumsum(x, axis=axis), lambda x: np.cumsum(x, axis=axis), randn(1)(*shape))


def test_non_numpy_sum():
    R = randn(1)
    check_op(lambda x, y: sum([x, y]), lambda x, y: x + y, R(10, 11), R(10, 11))


@pytest.mark.parametrize(
    "reduce, expected",
    [("mean", 1.0), ("std", 0.0), ("var", 0.0)],
    ids=["mean_list_of_boxes", "std_list_of_boxes", "var_list_of_boxes"],
)
def test_reduction_of_a_list_of_tensors(reduce, expected):
    (x,) = leaves(0.0)
    getattr(F.stack([x, x + 2]), reduce)().backward()
    assert x.grad == expected


INDEXING = {
    "index_ints": ((5, 6, 4), lambda x: x[3, 0, 1]),
    "index_slice": ((5, 6, 4), lambda x: x[::-1, 2:4, :]),
    "index_lists": ((5, 6, 4), lambda x: x[[0, 1, 2], :, :]),
    "index_mixed": ((5, 6, 4), lambda x: x[3, 2:, [1, 3]]),
    "vector_slice": ((5,), lambda x: x[2:4]),
    "index_slice_fanout": ((5, 6, 4), lambda x: x[::-1, 2:4, :] + x[::-1, 3:5, :]),
    "index_multiple_slices": ((7,), lambda x: x[2:6][1:3]),
    "multi_index": ((3,), lambda x: x[[0, 0]].sum()),
    "multi_index2": ((3,), lambda x: x[[0, 1, 0]].sum()),
}


@pytest.mark.parametrize("case", list(INDEXING))
def test_indexing(case):
    shape, fn = INDEXING[case]
    check_op(fn, fn, randn(1)(*shape))


def test_index_dot_slices():
    inner = need("inner")
    check_op(lambda x: inner(x[:2], x[2:]), lambda x: np.inner(x[:2], x[2:]), randn(1)(4))


@pytest.mark.parametrize(
    "fn",
    [lambda x: x.reshape((5 * 4, 6)), lambda x: x.reshape(5 * 4, 6)],
    ids=["reshape_method", "reshape_method_nolist"],
)
def test_reshape(fn):
    check_op(fn, fn, randn(1)(5, 6, 4))


def test_ravel_method():
    ravel = need_method("ravel")
    check_op(ravel, np.ravel, randn(1)(5, 6, 4))


def test_ravel_call():
    check_op(need("ravel"), np.ravel, randn(1)(5, 6, 4))


def test_flatten_method():
    flatten = need_method("flatten")
    check_op(flatten, lambda x: x.flatten(), randn(1)(5, 6, 4))


@pytest.mark.parametrize(
    "a, b, kwargs",
    [
        ([1.0, 2.0, 3.0], 4.0, {}),
        ([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0]], {"axis": 0}),
    ],
    ids=["simple_append", "simple_append_2D"],
)
def test_append(a, b, kwargs):
    append = need("append")
    check_op(lambda x, y: append(x, y, **kwargs), lambda x, y: np.append(x, y, **kwargs), a, b)


@pytest.mark.parametrize(
    "make, axis",
    [
        (lambda A, B: (A, B), 0),
        (lambda B, x: (B, x, B), 0),
        (lambda B, x: (B, x, B), 1),
    ],
    ids=["simple_concatenate", "concatenate_axis_0", "concatenate_axis_1"],
)
def test_concatenate_with_constants(make, axis):
    R = randn(1)
    A, B = R(5, 6, 4), R(5, 6, 4)
    check_op(
        lambda x: F.concatenate(make(A, x), axis),
        lambda x: np.concatenate(make(A, x), axis),
        B,
    )


@pytest.mark.parametrize(
    "shape, offset",
    [((10, 11), 3), ((11, 10), -4), ((5, 6, 4, 3), 2)],
    ids=["trace", "trace2", "trace_extradims"],
)
def test_trace(shape, offset):
    trace = need("trace")
    check_op(
        lambda x: trace(x, offset=offset),
        lambda x: np.trace(x, offset=offset),
        randn(1)(*shape),
    )


def test_diag():
    check_op(need("diag"), np.diag, randn(1)(10, 10))


def test_transpose_property():
    check_op(lambda x: x.T, lambda x: x.T, randn(1)(8, 8))


def test_roll():
    roll = need("roll")
    check_op(lambda x: roll(x, 2, axis=1), lambda x: np.roll(x, 2, axis=1), randn(1)(4, 5))


def test_roll_no_axis():
    roll = need("roll")
    check_op(lambda x: roll(x, 2), lambda x: np.roll(x, 2), randn(1)(4, 5))


@pytest.mark.parametrize("name", ["triu", "tril"])
def test_triangle(name):
    op = need(name)
    check_op(lambda x: op(x, k=2), lambda x: getattr(np, name)(x, k=2), randn(1)(5, 5))


def test_clip():
    check_op(lambda x: F.clip(x, 0.1, 1.1), lambda x: np.clip(x, 0.1, 1.1), randn(1)(5, 5))


@pytest.mark.parametrize(
    "kwargs, shape, scale",
    [
        ({}, (2, 3), 10.0),
        ({"axis": 0}, (2, 3), 1.0),
        ({"axis": 0, "keepdims": True}, (2, 3), 1.0),
        ({}, (7,), 1.0),
    ],
    ids=["prod_1", "prod_2", "prod_3", "prod_4"],
)
def test_prod(kwargs, shape, scale):
    prod = need("prod")
    mat = randn(1)(*shape) ** 2 / scale + 0.1  # the gradient is unstable near zeros
    check_op(lambda x: prod(x, **kwargs), lambda x: np.prod(x, **kwargs), mat)


ARRAYS_OF_TENSORS = {
    "1d_array": lambda x, stack: stack([x, x * 1.0, x + 2.5]),
    "2d_array": lambda x, stack: stack([stack([x, x * 1.0, x + 2.5]), stack([x**2, x, x / 2.0])]),
    "1d_array_fanout": lambda x, stack: stack([x, x * 1.0, x + 2.5]) * 2,
    "2d_array_fanout": lambda x, stack: (
        stack([stack([x, x * 1.0, x + 2.5]), stack([x**2, x, x / 2.0])]) * 2
    ),
    "array_from_scalar": lambda x, stack: x * 1.0,
}


@pytest.mark.parametrize("case", list(ARRAYS_OF_TENSORS))
def test_array_of_tensors(case):
    build = ARRAYS_OF_TENSORS[case]
    check_op(lambda x: build(x, F.stack), lambda x: build(x, np.array), 3.0)


def test_scalar_tensor_attributes():
    (x,) = leaves(3.0)
    assert (x.shape, x.ndim, x.size, x.dtype) == ((), 0, 1, np.float64)
    (x**2).backward()
    assert x.grad == 6.0


@pytest.mark.parametrize(
    "build",
    [
        lambda x, stack: stack([x, x]),
        lambda x, stack: stack([stack([2 * x, x + 1]), stack([x, x])]),
    ],
    ids=["array_from_arrays", "array_from_arrays_2"],
)
def test_array_from_arrays(build):
    check_op(lambda x: build(x, F.stack), lambda x: build(x, np.array), randn(1)(3, 2))


def test_len():
    def fn(x):
        assert len(x) == 3
        return x

    check_op(fn, fn, randn(1)(3, 2))


R_C = {  # np.r_ and np.c_ of autograd's tests, as concatenations
    "r_basic": lambda x, c, cat: cat([x], 0),
    "r_double": lambda x, c, cat: cat([x, x], 0),
    "r_node_and_const": lambda x, c, cat: cat([x, c], 0),
    "r_mixed": lambda x, c, cat: cat([x, c, x], 0),
    "c_": lambda x, c, cat: cat([x, c, x], 1),
}


@pytest.mark.parametrize("case", list(R_C))
def test_r_and_c(case):
    R = randn(1)
    c, build = R(3, 2), R_C[case]
    check_op(lambda x: build(x, c, F.concatenate), lambda x: build(x, c, np.concatenate), R(3, 2))


def test_r_slicing():
    R = randn(1)
    c = R(10)
    check_op(
        lambda x: F.concatenate([x, c, np.arange(1, 10)]),
        lambda x: np.r_[x, c, 1:10],
        R(10),
    )


def test_no_relation():
    # the output does not depend on x: grad names the input, or gives None when allowed
    grad = need_autograd("grad")
    c = Tensor(randn(1)(3, 2))
    x, y = leaves(randn(2)(3, 2), 1.0)
    with pytest.raises(ValueError, match="0"):
        grad((c * y).sum(), x)
    assert grad((c * y).sum(), x, allow_unused=True) == (None,)


@pytest.mark.parametrize("name", ["var", "std"])
def test_ddof(name):
    R = randn(1)
    B, C, D = R(3), R(3, 4), R(1, 3)
    ours = lambda x, **kw: getattr(x, name)(**kw)  # noqa: E731
    combos(ours, getattr(np, name), [B, C, D], axis=[None], keepdims=[True, False], ddof=[0, 1])
    combos(ours, getattr(np, name), [C, D], axis=[None, 1], keepdims=[True, False], ddof=[2])


def test_where():
    R = randn(1)
    C = R(4, 5) > 0
    check_op(lambda x, y: F.where(C, x, y), lambda x, y: np.where(C, x, y), R(4, 5), R(4, 5))


def test_squeeze_func():
    check_op(need("squeeze"), np.squeeze, randn(1)(5, 1, 4))


def test_squeeze_method():
    check_op(lambda x: x.squeeze(), np.squeeze, randn(1)(5, 1, 4))


@pytest.mark.parametrize(
    "shape, repeats, axis",
    [((5, 3, 4), 2, 1), ((5, 3, 4), 1, 1), ((5, 3), 2, 0), ((5,), 2, 0), ((5, 1), 1, 0)],
    ids=["repeat", "repeat_axis1_rep1", "repeat_axis0", "repeat_1d_axis0", "repeat_axis0_rep1"],
)
def test_repeat(shape, repeats, axis):
    repeat = need("repeat")
    check_op(
        lambda x: repeat(x, repeats, axis=axis),
        lambda x: np.repeat(x, repeats, axis=axis),
        randn(1)(*shape),
    )


def test_expand_dims():
    check_op(lambda x: x.expand_dims(2), lambda x: np.expand_dims(x, 2), randn(1)(5, 1, 4))


def test_tensordot_axes_by_position():
    tensordot = need("tensordot")
    (x,) = leaves(1.0)
    tensordot(x * np.ones((2, 2)), x * np.ones((2, 2)), 2).backward()
    assert x.grad == 8.0


def test_cast_to_int():
    inds = np.ones(5)[:, None]

    def fn(W):
        F.concatenate((W, inds), axis=1)
        new_W = W[:, :-1]
        new_inds = W.data[:, -1].astype(np.int64)  # indices read from the data: no gradient
        return new_W[new_inds].sum()

    W = randn(1)(5, 10)
    W[:, -1] = np.arange(5) % 3 + 0.5  # away from whole numbers, where int() jumps
    check_grads(fn, W)


@pytest.mark.parametrize("shape", [(4, 4), (3, 4, 4)])
def test_diagonal(shape):
    diagonal = need("diagonal")
    check_op(
        lambda x: diagonal(x, axis1=-1, axis2=-2),
        lambda x: np.diagonal(x, axis1=-1, axis2=-2),
        randn(1)(*shape),
    )


def test_nan_to_num():
    nan_to_num = need("nan_to_num")
    y = np.array([0.0, np.nan, np.inf, -np.inf])
    with np.errstate(invalid="ignore"):
        check_op(
            lambda x: nan_to_num(x + y).sin().sum(),
            lambda x: np.sin(np.nan_to_num(x + y)).sum(),
            randn(1)(4),
        )


EQUAL_VALUES = {  # a function of one number whose max or min ties it with itself
    "max_equal_values": (lambda x, stack: stack([x, x]).max(), [1.0]),
    "max_equal_values_2d": (
        lambda x, stack: stack([stack([x, x]), stack([x, x * 0 + 0.5])]).max(axis=1),
        [1.0, -1.0],
    ),
    "min_3_way_equality": (
        lambda x, stack: stack(
            [
                stack([x, x, x]),
                stack([x, x * 0 + 0.5, x * 0 + 0.5]),
                stack([x * 0 + 0.5] * 3),
                stack([x, x, x * 0 + 0.5]),
            ]
        ).min(axis=0),
        [1.0, -1.0],
    ),
}


@pytest.mark.parametrize("case", list(EQUAL_VALUES))
def test_ties(case):
    build, points = EQUAL_VALUES[case]

    def numpy_stack(items):
        return np.array([np.asarray(i, dtype=float) for i in items])

    def expected(x):
        return build(x, numpy_stack)

    for point in points:
        check_op(lambda x: build(x, F.stack), expected, point)


def test_maximum_equal_values():
    check_op(lambda x: F.maximum(x, x), lambda x: np.maximum(x, x), 1.0)


def test_maximum_equal_values_2d():
    def build(x, stack, maximum):
        return maximum(
            stack([x, x, x * 0 + 0.5]),
            stack([stack([x, x * 0 + 0.5, x]), stack([x, x, x * 0 + 0.5])]),
        )

    for point in [1.0, -1.0, 2.0]:
        check_op(
            lambda x: build(x, F.stack, F.maximum),
            lambda x: build(x, lambda i: np.array([np.asarray(v, float) for v in i]), np.maximum),
            point,
        )


def test_linspace():
    linspace = need("linspace")
    for num in [0, 1, 5]:
        for a, b in [(1.2, 3.4), (1.2, -3.4), (1.2, 1.2)]:
            check_op(
                lambda x, y, n=num: linspace(x, y, n),
                lambda x, y, n=num: np.linspace(x, y, n),
                a,
                b,
            )


def test_astype_float32_gives_float64_gradients():
    # autograd keeps float32 gradients for float32 inputs; float64 everywhere here
    x = Tensor(np.arange(3, dtype="float32"), requires_grad=True)
    x.sin().sum().backward()
    assert x.dtype == np.float64 and x.grad.dtype == np.float64


def test_gradient_numpy():
    gradient, R = need("gradient"), randn(1)
    check_op(gradient, np.gradient, R(10))
    for axis in [None, 0, 1, -1]:
        check_op(
            pieces(lambda x, a=axis: gradient(x, axis=a)),
            np_pieces(lambda x, a=axis: np.gradient(x, axis=a)),
            R(4, 4, 4),
        )


# ------------------------------------------------------------------ test_scalar_ops.py
SCALAR_OPS = {  # autograd's test: (our function of x, numpy's, the points)
    "abs": ("abs", np.abs, [1.1, -1.1]),
    "sin": ("sin", np.sin, [0.7]),
    "sign": ("sign", np.sign, [1.1, -1.1]),
    "exp": ("exp", np.exp, [0.7]),
    "log": ("log", np.log, [0.7]),
    "log2": ("log2", np.log2, [0.7]),
    "log10": ("log10", np.log10, [0.7]),
    "log1p": ("log1p", np.log1p, [0.7]),
    "expm1": ("expm1", np.expm1, [0.7]),
    "exp2": ("exp2", np.exp2, [0.7]),
    "neg": (operator.neg, np.negative, [0.7]),
    "cos": ("cos", np.cos, [0.7]),
    "tan": ("tan", np.tan, [0.7]),
    "cosh": ("cosh", np.cosh, [0.7]),
    "sinh": ("sinh", np.sinh, [0.7]),
    "tanh": ("tanh", np.tanh, [0.7]),
    "arccos": ("arccos", np.arccos, [0.1]),
    "arcsin": ("arcsin", np.arcsin, [0.1]),
    "arctan": ("arctan", np.arctan, [0.2]),
    "arccosh": ("arccosh", np.arccosh, [1.7]),
    "arcsinh": ("arcsinh", np.arcsinh, [0.7]),
    "arctanh": ("arctanh", np.arctanh, [0.2]),
    "sqrt": ("sqrt", np.sqrt, [4.2]),
    "reciprocal": (lambda x: 1.0 / x, np.reciprocal, [0.7]),
    "degrees": ("degrees", np.degrees, [4.2]),
    "radians": ("radians", np.radians, [4.2]),
    "sinc": ("sinc", np.sinc, [4.2]),
}


@pytest.mark.parametrize("name", list(SCALAR_OPS))
def test_scalar_op(name):
    ours, expected, points = SCALAR_OPS[name]
    ours = need(ours) if isinstance(ours, str) else ours
    for point in points:
        check_op(lambda x: 3.0 * ours(x), lambda x: 3.0 * expected(x), point)


def test_abs_at_zero():
    # one-sided derivatives -3 and 3; the central difference and torch's sign(0) give 0
    check_op(lambda x: 3.0 * x.abs(), lambda x: 3.0 * np.abs(x), 0.0, order=1)


def test_power_arg0():
    check_op(lambda x: x**2.3, lambda x: x**2.3, 1.5)
    (x,) = leaves(0.0)
    (x**0.0).backward()
    assert x.grad == 0.0


def second_derivative_is_zero(g, x):
    """g = d out / dx is a constant: as torch, a result that needs no gradient, or one whose
    own derivative is 0."""
    if g.requires_grad:
        (h,) = need_autograd("grad")(g, x, allow_unused=True)
        assert h is None or h.item() == 0.0


def test_power_arg0_second_derivative_at_zero():
    grad = need_autograd("grad")
    (x,) = leaves(0.0)
    (g,) = grad(x**0.0, x, create_graph=True)
    assert g.item() == 0.0
    second_derivative_is_zero(g, x)


def test_power_arg1():
    check_op(lambda y: 1.3**y, lambda y: 1.3**y, 0.6)


def test_power_arg1_zero():
    check_op(lambda y: 0.0**y, lambda y: 0.0**y, 0.6)


@pytest.mark.parametrize(
    "fn, numpy_fn",
    [(percent, np.mod), (operator.truediv, np.divide), (operator.mul, np.multiply)],
    ids=["mod", "divide", "multiply"],
)
def test_scalar_binary(fn, numpy_fn):
    check_op(fn, numpy_fn, 0.417, 0.72)


# ------------------------------------------------------------------ test_binary_ops.py
def arg_pairs():
    rs = np.random.RandomState(0)
    scalar, vector, mat, mat2 = 2.0, rs.randn(4), rs.randn(3, 4), rs.randn(1, 4)
    return itertools.product([scalar, vector, mat, mat2], repeat=2)


def gap_from_zero(x):
    return np.sqrt(np.square(x) + 0.5)


@pytest.mark.parametrize(
    "fn, numpy_fn",
    [(operator.mul, np.multiply), (operator.add, np.add), (operator.sub, np.subtract)],
    ids=["mul", "add", "sub"],
)
def test_binary_op(fn, numpy_fn):
    for a, b in arg_pairs():
        check_op(fn, numpy_fn, a, b)


def test_div():
    for a, b in arg_pairs():
        check_op(operator.truediv, np.divide, gap_from_zero(a), gap_from_zero(b))


def test_mod_pairs():
    for a, b in arg_pairs():
        if a is not b:  # the gradient is undefined where x == y
            check_op(percent, np.mod, gap_from_zero(a), gap_from_zero(b))


def test_pow():
    for a, b in arg_pairs():
        check_op(operator.pow, np.power, np.abs(a) + 1.1, b)


@pytest.mark.parametrize("name", ["arctan2", "hypot"])
def test_binary_function(name):
    op = need(name)
    for a, b in arg_pairs():
        check_op(op, getattr(np, name), a, b)


COMPARISONS = [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne]


def test_comparison_values_carry_no_gradient():
    # autograd: the gradient of sum(x < y) is zero; here a comparison is a boolean ndarray
    for a, b in arg_pairs():
        x, y = leaves(a, b)
        for compare in COMPARISONS:
            result = compare(x, y)
            assert not isinstance(result, Tensor) and np.asarray(result).dtype == bool
            np.testing.assert_array_equal(result, compare(np.asarray(a), np.asarray(b)))


def test_comparison_values():
    for a, b in arg_pairs():
        for compare in COMPARISONS:
            x, y = Tensor(a), Tensor(b)
            assert np.sum(compare(x, y)) == np.sum(compare(np.asarray(a), np.asarray(b)))


# ------------------------------------------------------------------ test_core.py
CORE = {
    "add": operator.add,
    "sub": operator.sub,
    "div": operator.truediv,
    "mul": operator.mul,
    "pow": operator.pow,
    "mod": percent,
}


@pytest.mark.parametrize("name", list(CORE))
def test_core_binary(name):
    # autograd's core test: first derivatives at (0.7, 1.8) against differences
    assert gradcheck(CORE[name], leaves(0.7, 1.8))


@pytest.mark.parametrize("compare", COMPARISONS, ids=["lt", "leq", "gt", "geq", "eq", "neq"])
def test_core_comparison(compare):
    x, y = leaves(0.7, 1.8)
    result = compare(x, y)
    assert not isinstance(result, Tensor) and np.asarray(result).dtype == bool
    assert result == compare(0.7, 1.8)


# ------------------------------------------------------------------ test_graphs.py
def derivative(fn, argnum=0):
    """autograd's grad(fn, argnum) of a scalar function, as a function of Tensors."""
    grad = need_autograd("grad")

    def d_fn(*t):
        (g,) = grad(fn(*t), t[argnum], create_graph=True)
        return g

    return d_fn


def fanout(x):
    return (x.sin() + x.sin()).sin()


def test_grad_fanout():
    check_op(fanout, lambda x: np.sin(2 * np.sin(x)), 0.3)
    check_op(derivative(fanout), lambda x: 2 * np.cos(2 * np.sin(x)) * np.cos(x), 0.6)


def test_grad_const():
    grad = need_autograd("grad")
    (x,) = leaves(2.0)
    (g,) = grad(x * 0.0 + 1.0, x)
    assert g.item() == 0.0


def test_grad_identity():
    grad = need_autograd("grad")
    (x,) = leaves(2.0)
    (g,) = grad(x, x, create_graph=True)
    assert g.item() == 1.0
    second_derivative_is_zero(g, x)


def test_hess_vector_prod():
    randv = randn(1)(10)

    def fn(x):
        return (x * randv).sum().sin()

    def vector_product(x, v):
        return (v * derivative(fn)(x)).sum().sin()

    R = randn(2)
    check_op(fn, lambda x: np.sin(x @ randv), R(10))
    check_grads(vector_product, R(10), R(10))


@pytest.mark.parametrize(
    "flip", [False, True], ids=["enclosing_scope_ref", "enclosing_scope_ref_2"]
)
def test_enclosing_scope_ref(flip):
    grad = need_autograd("grad")

    def fn(x):
        (y,) = leaves(2.0)
        (g,) = grad(y * x if flip else x * y, y, create_graph=True)
        return x * g

    check_op(fn, lambda x: x * x, 1.0)


def test_mutating_outgrad():
    def fn(a):
        b = a + 1.0
        c = b + 1.5
        d = a + b
        return d + c

    check_op(fn, fn, randn(1)(5))


def test_mutating_outgrad_from_indexing():
    def fn(a):
        b = a + 1.0
        c = b[0] + 1.5
        d = a + b
        return d + c

    check_op(fn, fn, randn(1)(5))


def sin_sin(x, y):
    return (x.sin() + y.sin()).sin()


def test_third_derivative():
    first = derivative(fanout)
    second = derivative(first)
    third = derivative(second)
    check_grads(fanout, 0.3)
    for fn in (first, second, third):
        check_grads(fn, 0.6)


@pytest.mark.parametrize("order", [(0, 1, 0), (1, 0, 1)], ids=["other_args", "other_args2"])
def test_third_derivative_other_args(order):
    fn = sin_sin
    check_grads(fn, 0.3, -0.4)
    for argnum in order:
        fn = derivative(fn, argnum)
        check_grads(fn, 0.3, -0.4)


@pytest.mark.parametrize(
    "shape, axis, keepdims",
    [
        ((3, 3), None, True),
        ((3, 1), 0, False),
        ((1, 3), 1, False),
        ((3, 1), 0, True),
        ((1, 3), 1, True),
    ],
    ids=["", "axis0", "axis1", "axis0_keepdims", "axis1_keepdims"],
)
def test_singleton_array_output(shape, axis, keepdims):
    def fn(x):
        return x.sin().sum(axis=axis, keepdims=keepdims)

    x = randn(1)(*shape)
    check_op(fn, lambda a: np.sin(a).sum(axis=axis, keepdims=keepdims), x)
    check_grads(lambda t: derivative(fn)(t).sum(), x)


def test_assignment_raises_error():
    (A,) = leaves(randn(1)(5))
    with pytest.raises(RuntimeError, match="in-place"):
        A[1] = 3.0


# ------------------------------------------------------------------ test_direct.py
def direct(x):
    return (x + (x**2).sin()) * x


def direct_derivative(x):
    return 2 * x + np.sin(x**2) + 2 * x**2 * np.cos(x**2)


def test_grad():
    (x,) = leaves(1.3)
    direct(x).backward()
    assert abs(x.grad - direct_derivative(1.3)) < 1e-12
    assert abs(x.grad - 3.190948746871) < 1e-6  # autograd's printed value


def test_deriv():
    jvp = need_autograd("jvp")
    _, tangent = jvp(direct, Tensor(1.3), Tensor(1.0))
    assert abs(tangent.item() - direct_derivative(1.3)) < 1e-12


# ------------------------------------------------------------------ test_wrappers.py
def test_return_both():
    (x,) = leaves(1.7)
    value = 3.0 * x**3.2
    value.backward()
    assert value.item() == 3.0 * 1.7**3.2
    assert abs(x.grad - 9.6 * 1.7**2.2) < 1e-12


def test_value_and_grad():
    def fn(x):
        return (x.sin() ** 2).sum()

    x = randn(1)(5)
    (t,) = leaves(x)
    value = fn(t)
    value.backward()
    assert abs(value.item() - np.sum(np.sin(x) ** 2)) < 1e-12
    np.testing.assert_allclose(t.grad, 2 * np.sin(x) * np.cos(x), rtol=1e-12)
    check_grads(fn, x)


def test_hessian():
    hessian = need_autograd("hessian")
    H = randn(1)(5, 5)
    x = randn(2)(5)
    result = hessian(lambda v: (v.reshape(1, 5) @ H @ v.reshape(5, 1)).sum(), Tensor(x))
    np.testing.assert_allclose(result.data, H + H.T, rtol=1e-12, atol=1e-12)


def complicated(a, b, c, d, e, f=1.1, g=9.0):
    return a + b.sin() + need("cosh")(c) + d.cos() + need("tan")(e) + f + g


POINT = dict(a=0.5, b=-0.3, c=0.2, d=-1.1, e=0.7)


def test_multigrad():
    grad = need_autograd("grad")
    a, b, c, d, e = leaves(*POINT.values())
    gd, gb = grad(complicated(a, b, c, d, e, f=0.6, g=-0.1), [d, b])
    assert (gd.item(), gb.item()) == pytest.approx((-math.sin(-1.1), math.cos(-0.3)), rel=1e-12)


def test_value_and_multigrad():
    grad = need_autograd("grad")
    a, b, c, d, e = leaves(*POINT.values())
    value = complicated(a, b, c, d, e, f=0.6, g=-0.1)
    expected = 0.5 + math.sin(-0.3) + math.cosh(0.2) + math.cos(-1.1) + math.tan(0.7) + 0.5
    assert value.item() == pytest.approx(expected, rel=1e-12)
    gd, gb = grad(value, [d, b])
    assert (gd.item(), gb.item()) == pytest.approx((-math.sin(-1.1), math.cos(-0.3)), rel=1e-12)


def test_multigrad_onearg():
    grad = need_autograd("grad")
    A, B = randn(1)(3), randn(2)(3)
    x, y = leaves(A, B)
    result = grad((x + y.sin()).sum(), [x])
    assert len(result) == 1
    np.testing.assert_array_equal(result[0].data, np.ones(3))


def simple(a, b):
    return a + a.sin() + need("cosh")(b)


def test_elementwise_grad():
    grad = need_autograd("grad")
    (x,) = leaves(randn(1)(10))
    (g,) = grad(simple(x, x * 0), x, grad_outputs=np.ones(10))
    np.testing.assert_allclose(g.data, 1 + np.cos(x.data), rtol=1e-12)


def test_elementwise_grad_multiple_args():
    grad = need_autograd("grad")
    a, b = leaves(0.9, randn(1)(10))
    (g,) = grad(simple(a, b), b, grad_outputs=np.ones(10))
    np.testing.assert_allclose(g.data, np.sinh(b.data), rtol=1e-12)


@pytest.mark.parametrize("shape", [(5,), (5, 4), (5, 4, 3)], ids=["vector", "matrix", "3d"])
def test_hessian_tensor_product(shape):
    hessian, hvp = need_autograd("hessian"), need_autograd("hvp")
    a, v = randn(1)(*shape), randn(2)(*shape)

    def fn(t):
        return t.sin().sum()

    H = hessian(fn, Tensor(a)).data
    np.testing.assert_allclose(H.reshape(a.size, a.size), np.diag(-np.sin(a).ravel()), atol=1e-14)
    _, product = hvp(fn, Tensor(a), Tensor(v))
    np.testing.assert_allclose(product.data, np.tensordot(H, v, axes=v.ndim), rtol=1e-12)


@pytest.mark.parametrize(
    "a_shape, v_shape", [((5, 4), (5, 4)), ((5, 4, 3), (5, 4, 3))], ids=["matrix", "tensor"]
)
def test_tensor_jacobian_product(a_shape, v_shape):
    jacobian, vjp, roll = need_autograd("jacobian"), need_autograd("vjp"), need("roll")
    a, v = randn(1)(*a_shape), randn(2)(*v_shape)

    def fn(t):
        return roll(t.sin(), 1)

    J = jacobian(fn, Tensor(a)).data
    _, product = vjp(fn, Tensor(a), Tensor(v))
    np.testing.assert_allclose(product.data, np.tensordot(v, J, axes=v.ndim), rtol=1e-12)


def test_user_function_vjp():
    # autograd's defvjp wrapper: a primitive with its own vector-Jacobian product
    class MulSquare(Function):
        """x y^2, a primitive the library does not have"""

        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * np.square(y)

        @staticmethod
        def backward(ctx, grad):
            x, y = ctx.saved_tensors
            return np.square(y) * grad, 2.0 * x * y * grad

    R = randn(1)
    assert gradcheck(MulSquare.apply, leaves(R(2, 2), R(2, 2)))


def test_gradients_are_float64_whatever_the_input():
    for dtype in (np.float32, np.float16, np.longdouble):
        x = Tensor(randn(1)(10, 10).astype(dtype), requires_grad=True)
        (x**2).sum().backward()
        assert x.grad.dtype == np.float64


def test_custom_where():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    condition = np.array([True, False, True])
    expected = np.array([1.0, 5.0, 3.0])
    np.testing.assert_array_equal(F.where(condition, x, y).data, expected)
    np.testing.assert_array_equal(F.where(condition=condition, x=x, y=y).data, expected)
    np.testing.assert_array_equal(F.where(condition, x, y=y).data, expected)
    for a, b in [(1, 2), (3.0, 4.0), ([1, 2], [3, 4])]:
        assert F.where(np.array(True), a, b).dtype == np.float64


def test_make_jvp():
    jvp, jacobian = need_autograd("jvp"), need_autograd("jacobian")
    A, x, v = randn(1)(3, 5), randn(2)(5), randn(3)(5)

    def fn(t):
        return (A @ t.reshape(5, 1)).reshape(3).tanh()

    _, tangent = jvp(fn, Tensor(x), Tensor(v))
    np.testing.assert_allclose(tangent.data, jacobian(fn, Tensor(x)).data @ v, rtol=1e-12)


def explicit_ggnvp(fn, g, x, v):
    jacobian, hessian = need_autograd("jacobian"), need_autograd("hessian")
    J = jacobian(fn, Tensor(x)).data
    H = hessian(g, fn(Tensor(x)).detach()).data
    return J.T @ H @ J @ v


def ggnvp(fn, g, x, v):
    """The Gauss-Newton product J^T H_g J v, by a jvp, an hvp and a vjp."""
    jvp, hvp, vjp = need_autograd("jvp"), need_autograd("hvp"), need_autograd("vjp")
    y, Jv = jvp(fn, Tensor(x), Tensor(v))
    _, HJv = hvp(g, y.detach(), Jv.detach())
    return vjp(fn, Tensor(x), HJv.detach())[1].data


@pytest.mark.parametrize(
    "g",
    [lambda y: 0.5 * (y * y).sum(), lambda y: (2.0 * y**2 + y**4).sum()],
    ids=["make_ggnvp", "make_ggnvp_nondefault_g"],
)
def test_make_ggnvp(g):
    A, x, v = randn(1)(5, 4), randn(2)(4), randn(3)(4)
    for fn in [
        lambda t: (A @ t.reshape(4, 1)).reshape(5),
        lambda t: (A @ t.reshape(4, 1)).reshape(5).tanh(),
    ]:
        np.testing.assert_allclose(ggnvp(fn, g, x, v), explicit_ggnvp(fn, g, x, v), rtol=1e-10)


# ------------------------------------------------------------------ test_jacobian.py
def test_jacobian_against_grad():
    jacobian = need_autograd("jacobian")
    A = randn(1)(1, 3)
    (x,) = leaves(A)
    x.sin().sum(axis=1, keepdims=True).backward()
    J = jacobian(lambda t: t.sin().sum(axis=1, keepdims=True), Tensor(A)).data
    np.testing.assert_allclose(J.reshape(1, 3), x.grad, rtol=1e-12)


def test_jacobian_scalar_to_vector():
    jacobian = need_autograd("jacobian")
    val = 0.37
    J = jacobian(lambda x: F.stack([x, x**2, x**3]), Tensor(val)).data
    np.testing.assert_allclose(J, [1.0, 2 * val, 3 * val**2], rtol=1e-12)


def test_jacobian_against_stacked_grads():
    jacobian, grad, prod = need_autograd("jacobian"), need_autograd("grad"), need("prod")

    def inner_grad(x):
        (y,) = leaves(x.data[1])
        (g,) = grad(y.exp() * x[0].tanh(), y, create_graph=True)
        return g * 1.0

    scalar_fns = [lambda x: (x**3).sum(), lambda x: prod(x.sin() + x.sin())]
    x = randn(1)(5)
    J = jacobian(lambda t: F.stack([f(t) for f in scalar_fns]), Tensor(x)).data
    grads = []
    for f in scalar_fns:
        (t,) = leaves(x)
        f(t).backward()
        grads.append(t.grad)
    np.testing.assert_allclose(J, np.vstack(grads), rtol=1e-12)
    assert inner_grad(Tensor(x)).item() == pytest.approx(np.exp(x[1]) * np.tanh(x[0]), rel=1e-12)


def test_jacobian_higher_order():
    jacobian, outer, inner = need_autograd("jacobian"), need("outer"), need("inner")

    def fn(x):
        return outer(x, x).sin() + inner(x, x).cos()

    x = randn(1)(2)
    assert jacobian(fn, Tensor(x)).shape == (2, 2, 2)
    assert jacobian(lambda t: jacobian(fn, t, create_graph=True), Tensor(x)).shape == (2, 2, 2, 2)
    check_grads(lambda t: jacobian(fn, t, create_graph=True).sin().sum(), x)
    check_grads(
        lambda t: (
            jacobian(lambda s: jacobian(fn, s, create_graph=True), t, create_graph=True).sin().sum()
        ),
        x,
    )


# ------------------------------------------------------------------ test_logic.py
def test_assert():
    def fn(x):
        assert np.allclose(x.data, (x.data * 3.0) / 3.0)  # a check on the values alone
        return x.sum()

    check_op(fn, np.sum, np.array([1.0, 2.0, 3.0]))


def test_nograd():
    # numpy's allclose would drop the gradient: it refuses a tensor that requires grad
    (x,) = leaves(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="requires grad"):
        np.allclose(x, (x * 3.0) / 3.0)


def test_no_vjp_def():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return 2.0 * x

    (x,) = leaves(1.0)
    with pytest.raises(NotImplementedError):
        Double.apply(x).backward()


# ------------------------------------------------------------------ test_misc.py
def test_const_graph():
    # autograd's const_graph traces once and replays; here graph.capture does
    capture = need_module("graph.capture")
    calls = []
    x, y = leaves(0.0, 0.0)

    def step():
        calls.append(None)
        u = x * y
        return (u.sin() + u * 2).sum()

    captured = capture(step)
    assert len(calls) == 2  # capture calls it twice, to see the graph is the same
    for a, b in [(1.0, 0.5), (0.3, -2.0)]:
        x.data, y.data = np.array(a), np.array(b)
        x.grad = y.grad = None
        value = captured.replay().item()
        assert value == pytest.approx(np.sin(a * b) + 2 * a * b, rel=1e-14)
        assert x.grad == pytest.approx((np.cos(a * b) + 2) * b, rel=1e-14)
    assert len(calls) == 2
