"""The generated step restates ops: each restatement equals its op's forward and backward
bit for bit on drawn inputs, and every other op runs through its own methods."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tinygrad_moons import Function, Tensor, codegen, ops
from tinygrad_moons.graph import capture
from tinygrad_moons.tensor import derived

FINITE = st.floats(-3.0, 3.0, allow_nan=False, width=64)
SETTINGS = settings(max_examples=40, deadline=None)


def arrays(draw, shape):
    return np.array(
        draw(st.lists(FINITE, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    ).reshape(shape)


def leaf(array, requires_grad=True):
    return Tensor(array, requires_grad=requires_grad)


def assert_replay_equals_eager(build, leaves, restated):
    """capture(build) replayed twice gives build().backward()'s value and gradients, bit for bit,
    and ``restated`` (an op class) is written out, not called."""
    for t in leaves:
        t.grad = None
    eager = build()
    eager.backward()
    want_value = eager.data.copy()
    want = [None if t.grad is None else t.grad.copy() for t in leaves]
    for t in leaves:
        t.grad = None
    graph = capture(build)
    assert restated in codegen.RULES and f"{restated.__name__}: its own" not in graph.source
    for _ in range(2):  # the second replay reuses every buffer
        for t in leaves:
            t.grad = None
        out = graph.replay()
        assert np.array_equal(out.data, want_value)
        for t, g in zip(leaves, want, strict=True):
            assert (t.grad is None) == (g is None)
            if g is not None:
                assert t.grad.shape == g.shape and np.array_equal(t.grad, g)


def broadcast_pair(draw):
    """Two shapes that broadcast: one of them with size-1 or missing axes."""
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    other = list(shape)
    for i in range(len(other)):
        if draw(st.booleans()):
            other[i] = 1
    other = tuple(other[draw(st.integers(0, len(other) - 1)) :])
    return (shape, other) if draw(st.booleans()) else (other, shape)


@st.composite
def elementwise_case(draw):
    a_shape, b_shape = broadcast_pair(draw)
    out_shape = np.broadcast_shapes(a_shape, b_shape)
    return (
        arrays(draw, a_shape),
        arrays(draw, b_shape),
        arrays(draw, out_shape),
        draw(st.booleans()),
    )


@SETTINGS
@given(elementwise_case(), st.sampled_from([ops.Add, ops.Mul]))
def test_add_and_mul_with_broadcasting_equal_their_ops(case, op):
    a, b, weights, b_needs_grad = case
    x, y = leaf(a), leaf(b, b_needs_grad)
    assert_replay_equals_eager(lambda: (op.apply(x, y) * weights).sum(), [x, y], op)


@SETTINGS
@given(FINITE, FINITE, st.booleans())
def test_scalar_constants_fold_as_the_ops_compute_them(w0, c, constant_first):
    w = leaf(np.array(w0))
    build = (lambda: c * (w * w)) if constant_first else (lambda: (w * w) * c + c)
    assert_replay_equals_eager(build, [w], ops.Mul)


@st.composite
def matmul_case(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    bias_shape = draw(st.sampled_from([(m,), (1, m)]))
    return (
        arrays(draw, (n, k)),
        arrays(draw, (k, m)),
        arrays(draw, bias_shape),
        arrays(draw, (n, m)),
        draw(st.booleans()),
    )


@SETTINGS
@given(matmul_case())
def test_matmul_and_linear_equal_their_ops(case):
    a, w0, b0, weights, x_needs_grad = case
    x, w, b = leaf(a, x_needs_grad), leaf(w0), leaf(b0)
    assert_replay_equals_eager(lambda: (ops.MatMul.apply(x, w) * weights).sum(), [x, w], ops.MatMul)
    assert_replay_equals_eager(
        lambda: (ops.Linear.apply(x, w, b) * weights).sum(), [x, w, b], ops.Linear
    )


@SETTINGS
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, 4))), st.data())
def test_tanh_equals_its_op(shape, data):
    a = arrays(data.draw, shape) * 3
    weights = arrays(data.draw, shape)
    x = leaf(a)
    assert_replay_equals_eager(lambda: (x.tanh() * weights).sum(), [x], ops.Tanh)


@st.composite
def cross_entropy_case(draw):
    n, classes = draw(st.integers(1, 6)), draw(st.sampled_from([1, 2, 3, 17]))
    logits = arrays(draw, (n, classes)) * draw(st.sampled_from([1.0, 100.0]))
    labels = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    return logits, labels, draw(st.sampled_from(["sum", "mean", "none"])), arrays(draw, (n,))


@SETTINGS
@example(  # a mean whose scale g / N rounds otherwise as g * (1 / N)
    (np.array([[0.5, -1.0], [2.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1]), "mean", np.ones(3)),
    "tensor",
    0.37,
)
@given(cross_entropy_case(), st.sampled_from(["seed", "constant", "tensor"]), FINITE)
def test_softmax_cross_entropy_equals_its_op(case, gradient, scale):
    """The gradient reaching the loss: backward's seed 1.0, a known constant, or a value."""
    logits, labels, reduction, weights = case
    z = leaf(logits)
    s = leaf(np.array(scale))

    def build():
        loss = F.softmax_cross_entropy(z, labels, reduction=reduction)
        if reduction == "none":
            return (loss * weights).sum()
        return {"seed": loss, "constant": loss * scale, "tensor": loss * s}[gradient]

    assert_replay_equals_eager(build, [z, s], ops.SoftmaxCrossEntropy)


@SETTINGS
@given(st.integers(1, 3), st.data(), FINITE)
def test_sum_of_squares_equals_its_op(count, data, scale):
    tensors = [leaf(arrays(data.draw, (data.draw(st.integers(1, 3)), 2))) for _ in range(count)]
    assert_replay_equals_eager(lambda: scale * F.l2(*tensors), tensors, ops.SumOfSquares)
    assert_replay_equals_eager(
        lambda: F.l2(*tensors) * F.l2(tensors[0]), tensors, ops.SumOfSquares
    )  # a gradient known only at replay


class Cube(Function):
    """A user's op, unknown to the generator."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3.0 * x * x * grad


def test_a_users_function_runs_through_its_own_forward_and_backward():
    x = leaf(np.array([[0.5, -1.0], [2.0, 0.25]]))
    w = leaf(np.array([[1.0, 2.0], [3.0, -1.0]]))
    build = lambda: (Cube.apply(x @ w).tanh() * 1.5).sum()  # noqa: E731
    assert_replay_equals_eager(build, [x, w], ops.Tanh)
    graph = capture(build)
    assert "Cube: its own forward()" in graph.source and "Cube: its own backward()" in graph.source


def test_ops_without_a_rule_are_called_and_still_exact():
    x = leaf(np.array([[0.5, -1.0, 3.0], [2.0, 0.25, -0.5]]))
    build = lambda: (x.exp().sum(axis=0) - x.max()).mean() + (x.reshape(3, 2).T ** 2).sum()  # noqa: E731
    assert_replay_equals_eager(build, [x], ops.Add)


def test_a_stack_of_matrices_is_called_not_restated():
    rng = np.random.RandomState(1)
    x = leaf(rng.randn(3, 4, 2))
    w = leaf(rng.randn(2, 5))
    build = lambda: ((x @ w).tanh() * 2.0).sum()  # noqa: E731
    assert_replay_equals_eager(build, [x, w], ops.Tanh)
    assert "MatMul: its own forward()" in capture(build).source


def test_gradients_add_into_existing_grads_in_the_walks_order():
    """Three uses of one leaf, onto a .grad already there: (G + g1) + g2 + g3, as eagerly."""
    rng = np.random.RandomState(0)
    w = leaf(rng.randn(4, 3))
    x = Tensor(rng.randn(5, 4))
    build = lambda: ((x @ w).tanh().sum() + F.l2(w)) * 0.3 + (w * w).sum()  # noqa: E731
    start = rng.randn(4, 3) * 1e3
    w.grad = start.copy()
    build().backward()
    want = w.grad.copy()
    graph = capture(build)
    w.grad = start.copy()
    graph.replay()
    assert np.array_equal(w.grad, want)


def test_buffers_of_dead_values_are_shared():
    rng = np.random.RandomState(0)
    w = leaf(rng.randn(50, 50))
    x = Tensor(rng.randn(100, 50))
    graph = capture(lambda: (((x @ w).tanh() @ w).tanh() @ w).tanh().sum())
    distinct = {id(v) for k, v in graph._fresh.namespace.items() if isinstance(v, np.ndarray)}
    held = sum(v.nbytes for k, v in graph._fresh.namespace.items() if isinstance(v, np.ndarray))
    assert graph.nbytes < held and len(distinct) < len(graph._fresh.namespace)


def test_numbers_of_the_step_held_as_scalars_feed_called_ops_and_the_outputs_as_arrays():
    """0-d values (a summed loss, a penalty) are numpy scalars in the generated step; an op
    called on one (Exp here, not restated) and the outputs still get 0-d float64 arrays,
    and value and gradients are eager's bit for bit."""
    import tinygrad_moons.functional as F
    from tinygrad_moons import Tensor, graph

    rng = np.random.RandomState(0)
    w = Tensor(rng.randn(3, 2), requires_grad=True)
    x = Tensor(rng.randn(4, 3))

    def step():
        total = (x @ w).sum() * 0.25 + F.l2(w) * 0.5
        return (total * 0.1).exp() + total

    eager = step()
    eager.backward()
    expected_value, expected_grad = eager.data.copy(), w.grad.copy()
    w.grad = None
    captured = graph.capture(step)
    assert "np.asarray(" in captured.source  # a scalar handed on as an array
    out = captured.replay()
    assert type(out.data) is np.ndarray and out.data.shape == ()
    assert out.data == expected_value and np.array_equal(w.grad, expected_grad)


def test_the_compiled_step_calls_numpy_through_names_bound_once():
    # The source reads np.f(...); the code runs it as np_f(...), np_f bound to np.f.
    x, w = leaf(np.ones((4, 2))), leaf(np.full((2, 3), 0.5))
    graph = capture(lambda: (F.tanh(x @ w) * 2.0).sum())
    step = graph._fresh
    assert "np.tanh(" in graph.source and "np_tanh" not in graph.source
    for name in ("forward", "backward"):
        names = step.namespace[name].__code__.co_names
        assert "np" not in names and "np_tanh" in step.namespace["forward"].__code__.co_names
    assert step.namespace["np_tanh"] is np.tanh
    # and each float literal handed to such a call, as a read-only 0-d float64 array
    assert "np.subtract(1.0, " in graph.source and "np_1_0" not in graph.source
    assert {"np_1_0", "np_2_0"} <= set(step.namespace["backward"].__code__.co_names)
    one = step.namespace["np_1_0"]
    assert one.shape == () and one.dtype == np.float64 and one == 1.0
    assert not one.flags.writeable


@pytest.mark.parametrize("masked", [False, True])
def test_a_name_of_the_step_like_an_alias_keeps_numpys_own_calls(masked):
    # A leaf named np_tanh, and a derived value's function named np_add: neither may be
    # taken for numpy's, in the function that uses it or in another.
    def np_add(a):
        return a > 0.0

    x = Tensor(np.array([[0.5, -1.0], [2.0, 0.25]]), requires_grad=True)

    def build():
        mask = Tensor(derived(np_add, x)) if masked else 1.0
        return (F.tanh(x) * mask + x * x).sum()

    eager = build()
    eager.backward()
    want_value, want_grad = eager.data.copy(), x.grad.copy()
    x.grad = None
    graph = capture(build, names={"np_tanh": x})
    for _ in range(2):
        x.grad = None
        assert np.array_equal(graph.replay().data, want_value)
        assert np.array_equal(x.grad, want_grad)
    if masked:  # the derived value's function, never numpy's in its place
        assert graph._fresh.namespace["np_add"] is np_add


@pytest.mark.parametrize("strided_at_capture", [True, False])
def test_products_of_strided_leaves_equal_their_ops(strided_at_capture):
    """A leaf's array may be a strided view (``t.data = big[:, ::2]``), at capture or only
    later: its products then go to np.matmul, as the eager op's do, where ndarray.dot would
    differ in the last bits (a single output column of a strided operand)."""
    rng = np.random.default_rng(0)
    whole, strided = rng.normal(size=(50, 30)), rng.normal(size=(50, 60))[:, ::2]
    x, w, b = leaf(whole), leaf(rng.normal(size=(30, 1))), leaf(rng.normal(size=1))
    assert not np.array_equal(strided @ w.data, strided.dot(w.data))  # the case that parts
    x.data = strided if strided_at_capture else whole
    for op, args in ((ops.MatMul, (x, w)), (ops.Linear, (x, w, b))):
        graph = capture(lambda op=op, args=args: (op.apply(*args).tanh() ** 2).sum())
        x.data = strided
        for t in (x, w, b):
            t.grad = None
        replayed = graph.replay().data.copy()
        compiled = [None if t.grad is None else t.grad.copy() for t in (x, w, b)]
        for t in (x, w, b):
            t.grad = None
        eager = (op.apply(*args).tanh() ** 2).sum()
        eager.backward()
        assert np.array_equal(replayed, eager.data)
        for got, t in zip(compiled, (x, w, b), strict=True):
            assert (got is None) == (t.grad is None)
            assert got is None or np.array_equal(got, t.grad)
        x.data = strided if strided_at_capture else whole
