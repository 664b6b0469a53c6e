"""Views as torch and numpy keep them: ``t[1:]``, ``t[0]``, ``t.T``, ``t.reshape(...)``
share t's memory, and an in-place update of a view updates t.

Before, ``W[0][1] = 5`` and ``for row in W: row *= 0`` left W unchanged (indexing copied),
an in-place update of a view of a tensor made by an op left that tensor unchanged, and one
of a view of a leaf that requires grad passed silently: three silent wrong answers. A
hypothesis test draws programs of views, ``detach()`` and in-place updates and compares
values, verdicts and gradients with torch float64.
"""

from contextlib import nullcontext

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_in_place_and_versions import _values

from tests.torch_twin import leaf_and_grad
from tinygrad_moons import Tensor, no_grad

W0 = np.arange(6.0).reshape(2, 3)


# ---------------------------------------------------------------------- the habits
def test_chained_indexing_assigns_into_the_tensor():
    W = Tensor(W0)
    W[0][1] = 5.0
    assert W.data[0, 1] == 5.0


def test_rows_updated_in_a_loop_under_no_grad_update_the_parameter():
    W = Tensor(W0, requires_grad=True)
    with no_grad():
        for row in W:
            row *= 0.0
    assert not W.data.any()


@pytest.mark.parametrize("view", [lambda w: w[0], lambda w: w.T, lambda w: w.reshape(6)])
def test_in_place_on_a_view_of_a_leaf_that_requires_grad_is_torchs_error(view):
    W = Tensor(W0, requires_grad=True)
    v = view(W)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        v += 1.0
    np.testing.assert_array_equal(W.data, W0)


def test_in_place_on_a_view_of_a_tensor_made_by_an_op_updates_it_and_its_gradient():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 1.0
    c = b[0:2]
    c *= 3.0
    c += 1.0
    (b * b).sum().backward()
    np.testing.assert_array_equal(b.data, [4.0, 7.0, 3.0])
    np.testing.assert_array_equal(c.data, [4.0, 7.0])
    np.testing.assert_array_equal(a.grad, [24.0, 42.0, 6.0])  # d(3a+1)^2/da = 6(3a+1)


def test_views_see_a_recorded_update_of_their_base_or_of_a_sibling():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 1.0
    tail, head = b[1:], b[:2]
    head += 1.0  # tail shares b[1]
    np.testing.assert_array_equal(tail.data, [3.0, 3.0])
    b *= 2.0
    np.testing.assert_array_equal(tail.data, [6.0, 6.0])
    np.testing.assert_array_equal(head.data, [4.0, 6.0])
    tail.sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 2.0, 2.0])


def test_a_view_of_a_view_sees_a_recorded_update_of_the_first_base():
    a = Tensor(W0, requires_grad=True)
    b = a * 1.0
    last = b.T[1:][-1]  # b[:, 2], through three views
    b += a
    np.testing.assert_array_equal(last.data, 2.0 * W0[:, 2])
    last.sum().backward()
    np.testing.assert_array_equal(a.grad, [[0.0, 0.0, 2.0], [0.0, 0.0, 2.0]])


def test_advanced_indexing_copies_as_in_torch():
    W = Tensor(W0)
    picked = W[np.array([0, 1])]
    picked += 1.0
    np.testing.assert_array_equal(W.data, W0)


# ---------------------------------------------------------------------- vs torch, drawn
VIEWS = {
    "rows": (lambda t: t.ndim >= 1 and len(t) > 1, lambda t: t[1:]),
    "row": (lambda t: t.ndim >= 1, lambda t: t[0]),
    "column": (lambda t: t.ndim == 2, lambda t: t[:, 1:]),
    "T": (lambda t: t.ndim == 2, lambda t: t.T),
    "flat": (lambda t: t.ndim >= 1, lambda t: t.reshape(-1)),
    "ellipsis": (lambda t: t.ndim >= 1, lambda t: t[..., :1]),
    "diagonal": (lambda t: t.ndim == 2, lambda t: t.diagonal(1)),
    "detach": (lambda t: True, lambda t: t.detach()),
}
SOURCES = ("a", "plain", "made")
step = st.one_of(
    st.tuples(st.just("view"), st.integers(0, 7), st.sampled_from(sorted(VIEWS))),
    st.tuples(
        st.just("in place"),
        st.integers(0, 7),
        st.sampled_from(("+", "*")),
        st.sampled_from(("const", "s")),
        st.booleans(),  # under no_grad
    ),
    st.tuples(st.just("set first"), st.integers(0, 7), st.booleans()),
)


def _run(lib, program, a0, s0):
    """Apply ``program``; the values of every tensor, each step's verdict, the loss (a
    weighted sum of every tensor that requires grad) and its gradients for a and s."""
    if lib == "ours":
        make, quiet = (lambda v, g=False: Tensor(v, requires_grad=g)), no_grad
    else:
        make = lambda v, g=False: torch.tensor(v, dtype=torch.float64, requires_grad=g)  # noqa: E731
        quiet = torch.no_grad
    a, s = make(a0, True), make(s0, True)
    names = {"a": a, "plain": make(np.linspace(-1.0, 1.0, 6).reshape(2, 3)), "made": a * 2.0}
    names["made"] = names["made"] * 1.0
    tensors = list(names.values())
    verdicts = []
    for kind, which, *rest in program:
        t = tensors[which % len(tensors)]
        try:
            if kind == "view":
                allowed, view = VIEWS[rest[0]]
                if not allowed(t):
                    verdicts.append("skip")
                    continue
                tensors.append(view(t))
            elif kind == "in place":
                symbol, operand, silent = rest
                other = 0.75 if operand == "const" else s
                with quiet() if silent else nullcontext():
                    if symbol == "+":
                        t += other
                    else:
                        t *= other
            else:
                if t.ndim == 0:
                    verdicts.append("skip")
                    continue
                with quiet() if rest[0] else nullcontext():
                    t[0] = s * 3.0
            verdicts.append("ok")
        except RuntimeError as error:
            # a view torch counts as a leaf: taken before its base required grad
            quirk = lib == "torch" and t._base is not None and str(error).startswith("a leaf")
            verdicts.append("torch quirk" if quirk else "raised")
    values = [_values(t) for t in tensors]
    parts = [(t * (i + 1.0)).sum() for i, t in enumerate(tensors) if t.requires_grad]
    loss = sum(parts[1:], parts[0])
    try:
        loss.backward()
        verdicts.append("backward ok")
    except RuntimeError:
        verdicts.append("backward raised")
        return values, verdicts, _values(loss), None
    return values, verdicts, _values(loss), [_grad(a), _grad(s)]


def _grad(t):
    return np.zeros(t.shape) if t.grad is None else _values(t.grad)


def _numeric_gradients(program, a0, s0, h=1e-6):
    """d loss / d a and d loss / d s by central differences of our own forward."""
    grads = []
    for which in (0, 1):
        base = [np.array(a0, dtype=float), np.array(s0, dtype=float)]
        grad = np.zeros(base[which].shape)
        for i in np.ndindex(grad.shape):
            plus, minus = [b.copy() for b in base], [b.copy() for b in base]
            plus[which][i] += h
            minus[which][i] -= h
            high = _run("ours", program, *plus)[2]
            low = _run("ours", program, *minus)[2]
            grad[i] = (high - low) / (2 * h)
        grads.append(grad)
    return grads


@settings(max_examples=40, deadline=None)
@given(program=st.lists(step, min_size=1, max_size=8))
def test_drawn_views_and_in_place_updates_match_torch(program):
    """Values and verdicts as torch's; gradients as torch's, or, where torch refuses the
    backward (a saved value was written since) and ours keeps the saved array, equal to
    central differences of the same program."""
    _check(program)


DETACHED = len(SOURCES)  # the index of the tensor the first step detaches
update_of_detached = st.one_of(
    st.tuples(
        st.just("in place"),
        st.just(DETACHED),
        st.sampled_from(("+", "*")),
        st.sampled_from(("const", "s")),
        st.booleans(),
    ),
    st.tuples(st.just("set first"), st.just(DETACHED), st.booleans()),
)


@settings(max_examples=30, deadline=None)
@given(
    first=st.sampled_from(SOURCES),
    update=update_of_detached,
    program=st.lists(step, max_size=5),
)
def test_drawn_updates_around_a_detached_tensor_match_torch(first, update, program):
    """The same, each program starting with ``detach()`` of a, of a plain tensor or of
    one made by an op and an update of it: it, its source and their views share memory."""
    _check([("view", SOURCES.index(first), "detach"), update, *program])


def _check(program):
    a0, s0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]), np.array(0.5)
    ours, theirs = _run("ours", program, a0, s0), _run("torch", program, a0, s0)
    # torch refuses an in-place update of a view taken before its base required grad
    # (it counts the view as a leaf); ours writes it into the base, recorded
    assume("torch quirk" not in theirs[1])
    assert ours[1][:-1] == theirs[1][:-1], (program, ours[1], theirs[1])
    for mine, torchs in zip(ours[0], theirs[0], strict=True):
        np.testing.assert_allclose(mine, torchs, rtol=1e-12, err_msg=str(program))
    if theirs[3] is not None:
        assert ours[3] is not None, program
        for mine, torchs in zip(ours[3], theirs[3], strict=True):
            np.testing.assert_allclose(mine, torchs, rtol=1e-12, atol=1e-12)
    elif ours[3] is not None:
        for mine, numeric in zip(ours[3], _numeric_gradients(program, a0, s0), strict=True):
            np.testing.assert_allclose(mine, numeric, rtol=1e-6, atol=1e-6)


def test_a_tensor_with_views_pickles_and_copies_without_its_links():
    import copy
    import pickle

    W = Tensor(W0, requires_grad=True)
    view = W.T
    again = pickle.loads(pickle.dumps(W))
    np.testing.assert_array_equal(again.data, W0)
    assert again.requires_grad
    copied = copy.deepcopy(view)
    with no_grad():
        copied += 1.0  # its own data now: W is not written
    np.testing.assert_array_equal(W.data, W0)


# ---------------------------------------------------------------------- new results
# A reduction or scan over one element is a new tensor in torch. prod and cumprod gave the
# input itself or a view of it: ``p = (x * 1).prod(axis=0)`` for x of shape (1, 1), then
# a write into x * 1 changed p, and one into p changed x * 1 (silent wrong answers).
ONE_ELEMENT = {
    "prod": (lambda t, a: t.prod(axis=a), lambda t, a: t.prod(a) if t.ndim else t.prod()),
    "cumprod": (lambda t, a: t.cumprod(axis=a), lambda t, a: t.cumprod(a)),
    "sum": (lambda t, a: t.sum(axis=a), lambda t, a: t.sum(a)),
    "mean": (lambda t, a: t.mean(axis=a), lambda t, a: t.mean(a)),
    "max": (lambda t, a: t.max(axis=a), lambda t, a: t.amax(a)),
    "min": (lambda t, a: t.min(axis=a), lambda t, a: t.amin(a)),
    "cumsum": (lambda t, a: t.cumsum(axis=a), lambda t, a: t.cumsum(a)),
    "flip": (lambda t, a: t.flip(a), lambda t, a: t.flip(a)),
}


def _one_element_run(lib, kind, shape, axis, written):
    x = (Tensor if lib == "ours" else torch.tensor)(
        np.arange(3.0, 3.0 + np.prod(shape)).reshape(shape), requires_grad=True
    )
    y = x * 1.0
    out = ONE_ELEMENT[kind][lib == "torch"](y, axis)
    with no_grad() if lib == "ours" else torch.no_grad():
        (y if written == "input" else out).__imul__(5.0)
    as_array = (lambda t: t.data) if lib == "ours" else (lambda t: t.detach().numpy())
    return as_array(y), as_array(out)


@pytest.mark.parametrize("written", ["input", "result"])
@pytest.mark.parametrize("shape_axis", [((1, 1), 0), ((2, 1), 1), ((1, 3), 0), ((1,), 0)])
@pytest.mark.parametrize("kind", sorted(ONE_ELEMENT))
def test_a_reduction_or_scan_over_one_element_is_a_new_tensor_as_torchs(kind, shape_axis, written):
    got = _one_element_run("ours", kind, *shape_axis, written)
    want = _one_element_run("torch", kind, *shape_axis, written)
    for what, a, b in zip(("input", "result"), got, want, strict=True):
        np.testing.assert_allclose(
            a, b, rtol=1e-12, err_msg=f"{what} after a write into the {written}"
        )


# flip was a view (numpy's), torch's a new tensor: y = x * 1; f = y.flip(0); y *= 5 changed
# f in ours alone (found by tests/engine/test_program_fuzz.py)
@pytest.mark.parametrize("written", ["input", "result"])
@pytest.mark.parametrize("shape_axis", [((3,), 0), ((2, 3), 1), ((2, 3), (0, 1))])
def test_flip_is_a_new_tensor_as_torchs(shape_axis, written):
    got = _one_element_run("ours", "flip", *shape_axis, written)
    want = _one_element_run("torch", "flip", *shape_axis, written)
    for what, a, b in zip(("input", "result"), got, want, strict=True):
        np.testing.assert_allclose(
            a, b, rtol=1e-12, err_msg=f"{what} after a write into the {written}"
        )


# diagonal was a copy (advanced indexing), torch's a view: W.diagonal() += 5 under no_grad,
# torch's habit for adding a ridge, changed nothing, silently; a write into the input was
# not seen by the diagonal (found by tests/engine/test_program_fuzz.py)
DIAGONALS = [((3, 4), 0, 0, 1), ((3, 4), 1, 0, 1), ((3, 4), -1, 1, 0), ((2, 3, 4), 1, 2, 0)]


def _diagonal_run(lib, shape, offset, axis1, axis2, written):
    x, grad_of = leaf_and_grad(
        "tm" if lib == "ours" else "torch", np.linspace(-1, 2, np.prod(shape)).reshape(shape)
    )
    quiet = no_grad if lib == "ours" else torch.no_grad
    y = x * 1.0
    d = y.diagonal(offset, axis1, axis2)
    kept = d * 1.0  # saved before the writes below
    if written == "input, quietly":
        with quiet():
            y *= 2.0
    elif written == "input":
        y += x
    else:  # the diagonal, recorded: y's values and graph change
        d *= 3.0
    loss = (y * y.tanh()).sum() + (d**3).sum() + (kept * d).sum()
    (first,) = grad_of(loss, [x], create_graph=True)
    (second,) = grad_of((first * first).sum(), [x])
    as_array = (lambda t: t.data) if lib == "ours" else (lambda t: t.detach().numpy())
    return [as_array(t) for t in (y, d, first, second)]


@pytest.mark.parametrize("written", ["input, quietly", "input", "diagonal"])
@pytest.mark.parametrize("where", DIAGONALS)
def test_diagonal_is_a_view_as_torchs(where, written):
    got = _diagonal_run("ours", *where, written)
    want = _diagonal_run("torch", *where, written)
    for what, a, b in zip(("input", "diagonal", "gradient", "second"), got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=what)


def test_a_ridge_added_to_a_parameters_diagonal_under_no_grad_updates_it():
    W = Tensor(np.zeros((3, 3)), requires_grad=True)
    with no_grad():
        ridge = W.diagonal()
        ridge += 0.5
    np.testing.assert_array_equal(W.data, 0.5 * np.eye(3))
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        W.diagonal().__iadd__(1.0)
    np.testing.assert_array_equal(W.data, 0.5 * np.eye(3))
