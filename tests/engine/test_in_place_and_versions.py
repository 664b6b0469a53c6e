"""In-place updates and versions as torch keeps them, and the habits around them.

Each case of issue 20's "silent wrong gradients" raises torch's error now; in-place
operators follow torch's rules with micrograd's results; a hypothesis test draws sequences
of in-place and out-of-place ops on leaves and non-leaves, in and out of no_grad, and
compares values, gradients and the raise/no-raise verdict with torch.
"""

from contextlib import nullcontext

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tests.torch_twin import leaf_and_grad
from tinygrad_moons import Function, Tensor, gradcheck, nn, no_grad, optim

TF = torch.nn.functional

VERSION_ERROR = "modified by an inplace operation"


# ---------------------------------------------------------------------- micrograd
# micrograd's own two tests (Andrej Karpathy, github.com/karpathy/micrograd,
# test/test_engine.py, MIT licence): the same expressions, on Tensors, against torch.
def test_sanity_check():
    x = Tensor(-4.0, requires_grad=True)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xpt, ypt = x, y

    # forward pass went well
    assert ymg.data == ypt.data.item()
    # backward pass went well
    assert xmg.grad == xpt.grad.item()


def test_more_ops():
    a = Tensor(-4.0, requires_grad=True)
    b = Tensor(2.0, requires_grad=True)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    amg, bmg, gmg = a, b, g

    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    apt, bpt, gpt = a, b, g

    tol = 1e-6
    # forward pass went well
    assert abs(gmg.data - gpt.data.item()) < tol
    # backward pass went well
    assert abs(amg.grad - apt.grad.item()) < tol
    assert abs(bmg.grad - bpt.grad.item()) < tol


# ---------------------------------------------------------------------- silent no more
def test_a_leaf_changed_under_no_grad_before_backward_raises_as_torch():
    w, x = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 2.0], requires_grad=True)
    y = (w * x).sum()
    with no_grad():
        w -= 1.0
    with pytest.raises(RuntimeError, match=rf"{VERSION_ERROR}.*Mul is at version 1; expected "):
        y.backward()
    tw, tx = (
        torch.tensor([1.0, 2.0], requires_grad=True),
        torch.tensor([1.0, 2.0], requires_grad=True),
    )
    ty = (tw * tx).sum()
    with torch.no_grad():
        tw -= 1.0
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        ty.backward()


def _two_layers(seed=0):
    return nn.Sequential(nn.Linear(2, 3, seed=seed), nn.Tanh(), nn.Linear(3, 1, seed=seed + 1))


def test_an_optimiser_step_between_forward_and_backward_raises_as_torch():
    model = _two_layers()
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = Tensor([[1.0, 2.0]])
    model(x).sum().backward()
    loss = (model(x) ** 2).sum()  # the second layer saved its weight for the hidden's grad
    opt.step()
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        loss.backward()
    layer = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    topt = torch.optim.SGD(layer.parameters(), lr=0.1)
    tx = torch.tensor([[1.0, 2.0]])
    layer(tx).sum().backward()
    tloss = (layer(tx) ** 2).sum()
    topt.step()
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        tloss.backward()


def test_an_input_changed_after_use_and_a_detached_alias_changed_raise():
    X = Tensor([[1.0, 2.0]])
    W = Tensor([[1.0], [1.0]], requires_grad=True)
    y = (X @ W).sum()
    X += 100.0
    with pytest.raises(RuntimeError, match=rf"{VERSION_ERROR}.*MatMul"):
        y.backward()
    a = Tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    alias = a.detach()
    alias += 1.0
    assert a._version == alias._version == 1
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        y.backward()


def test_load_state_dict_bumps_the_versions_of_what_it_writes():
    model = _two_layers()
    loss = model(Tensor([[1.0, 2.0]])).sum()
    before = [p._version for p in model.parameters()]
    model.load_state_dict(_two_layers(seed=5).state_dict())
    assert [p._version for p in model.parameters()] == [v + 1 for v in before]
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        loss.backward()


def test_the_error_advises_clone_and_clone_keeps_the_gradient_as_torchs():
    W = Tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"clone\(\)") as error:
        W += 1.0
    assert "Tensor(t)" not in str(error.value)
    copy = W.clone()
    copy += W  # recorded: copy is a tensor made by an op
    (copy * W).sum().backward()
    tW = torch.tensor([[1.0, 2.0]], requires_grad=True)
    tcopy = tW.clone()
    tcopy += tW
    (tcopy * tW).sum().backward()
    np.testing.assert_array_equal(W.grad, tW.grad.numpy())


def test_writing_a_saved_array_that_only_a_constants_gradient_reads_is_allowed_as_torch():
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = (w * 2.0).sum()  # Mul needs 2.0 for w's gradient, not w
    with no_grad():
        w += 1.0
    y.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])


def test_writing_the_logits_after_a_cross_entropy_is_allowed_as_torch():
    # found by tests/engine/test_program_fuzz.py: the op saved the logits (for a recorded
    # backward) and refused a first-order backward that reads only its probabilities;
    # torch's cross_entropy saves log_softmax's output, so writing the logits is no error
    z = Tensor([[0.2, 0.9], [0.4, -0.3]], requires_grad=True)
    tz = torch.tensor(z.data, requires_grad=True)
    loss, tloss = F.softmax_cross_entropy(z, [0, 1]), TF.cross_entropy(tz, torch.tensor([0, 1]))
    with no_grad():
        z -= 1.0
    with torch.no_grad():
        tz -= 1.0
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-15)


def test_writing_a_constant_after_an_l2_that_needs_no_gradient_of_it_is_allowed_as_torch():
    # found by tests/engine/test_program_fuzz.py: F.l2 saved every input, the constants too,
    # and refused a backward after a write into one; torch's (d * d).sum() saves no constant
    x = Tensor(np.array([0.2, -0.7]), requires_grad=True)
    tx = torch.tensor(x.data, requires_grad=True)
    loss = F.l2(x.detach(), x.tanh())
    tloss = (tx.detach() ** 2).sum() + (tx.tanh() ** 2).sum()
    with no_grad():
        x += 2.5  # the detached tensor shares x's array: the saved constant changes too
    with torch.no_grad():
        tx += 2.5
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-15)


# found by the slow run of tests/engine/test_program_fuzz.py: a batched matmul saved a
# view of its operand, and a write into the leaf after the forward stopped the backward;
# torch's matmul copies an operand it broadcasts over the batch (expand, then reshape)
# and answers. Ours now saves copies of a batched matmul's operands: the backward reads
# the forward's values, in the first order and under create_graph alike.
def _batched_products(lib, a, b):
    """A broadcast batch, a 2-D operand against a batch, and a batch against a batch."""
    stack = F.stack if lib == "tm" else torch.stack
    broadcast = stack([a, a], 0) @ a.swapaxes(-1, -2)  # (2, 2, 1, 3) @ (2, 3, 1)
    folded = b.T @ a.swapaxes(-1, -2)  # (2, 3) @ (2, 3, 1)
    batch = a.swapaxes(-1, -2) @ a  # (2, 3, 1) @ (2, 1, 3)
    return (broadcast**2).sum() + (folded**3).sum() + (batch * batch.tanh()).sum()


@pytest.mark.parametrize("order", ["backward", "hessian-vector product"])
def test_a_batched_matmuls_operands_written_after_the_forward_give_the_forwards_gradient(order):
    rng = np.random.RandomState(3)
    a0, b0 = rng.uniform(-1, 1, (2, 1, 3)), rng.uniform(-1, 1, (3, 2))
    results = {}
    for lib, write in (("tm", True), ("torch", False)):  # torch's answer: no write at all
        (a, grad_of), (b, _) = leaf_and_grad(lib, a0), leaf_and_grad(lib, b0)
        loss = _batched_products(lib, a, b)
        if write:
            with no_grad():
                a *= 2.0
                b -= 0.5
        firsts = grad_of(loss, [a, b], create_graph=order != "backward")
        if order != "backward":
            firsts = grad_of(sum((g * g.tanh()).sum() for g in firsts), [a, b])
        results[lib] = [np.asarray(g.data if lib == "tm" else g.detach().numpy()) for g in firsts]
    for ours, theirs in zip(results["tm"], results["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_torch_answers_after_a_write_into_a_broadcast_matmul_operand_and_so_do_we():
    a0 = np.array([[[0.2, 0.9, 0.4]], [[0.2, -0.3, 0.6]]])  # the fuzzer's program, reduced
    grads = []
    for lib in ("tm", "torch"):
        a, _ = leaf_and_grad(lib, a0)
        stack = F.stack if lib == "tm" else torch.stack
        loss = (stack([a, a], 0) @ a.swapaxes(-1, -2)).exp().sum()
        with no_grad() if lib == "tm" else torch.no_grad():
            a -= 2.5
        loss.backward()
        grads.append(np.asarray(a.grad if lib == "tm" else a.grad.numpy()))
    np.testing.assert_allclose(*grads, rtol=1e-13)


def test_a_write_into_a_2d_matmul_operand_after_the_forward_is_refused_as_by_torch():
    for lib in ("tm", "torch"):
        (x, _), (w, _) = leaf_and_grad(lib, np.ones((2, 3))), leaf_and_grad(lib, np.ones((3, 2)))
        loss = (x @ w).sum()
        with no_grad() if lib == "tm" else torch.no_grad():
            w += 1.0
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


# ---------------------------------------------------------------------- habits
def test_data_assignment_is_checked_and_converted_at_assignment():
    t = Tensor([[1.0, 2.0]], requires_grad=True)
    t.data = [[3.0, 4.0]]
    assert type(t.data) is np.ndarray and t.data.dtype == np.float64
    (t * t).sum().backward()
    np.testing.assert_array_equal(t.grad, [[6.0, 8.0]])
    t.data = np.array([1, 2, 3])  # a new shape, and ints: float64, as torch allows
    assert t.shape == (3,) and t.dtype == np.float64
    for bad in (np.array([1 + 2j]), ["a", "b"], np.array([object()])):
        with pytest.raises(TypeError, match="real numbers"):
            t.data = bad


def test_requires_grad_abs_pos_format_and_bare_no_grad():
    t = Tensor([-2.0])
    assert t.requires_grad_() is t and t.requires_grad
    np.testing.assert_array_equal(abs(t).data, [2.0])
    assert +t is t
    assert format(Tensor(3.14159), ".4f") == "3.1416" and f"{Tensor([2.5]):.1f}" == "2.5"
    with pytest.raises(TypeError, match="one-element"):
        format(Tensor([1.0, 2.0]), ".2f")
    with pytest.raises(RuntimeError, match="leaf variables"):
        (t * 2).requires_grad_(False)

    @no_grad
    def doubled(x):
        return x * 2

    assert not doubled(t).requires_grad


def test_a_tensor_subclass_is_a_leaf_as_a_parameter():
    class Parameter(Tensor):
        pass

    p = Parameter([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad, [2.0, 4.0])


def test_a_backward_returning_a_tensor_or_a_wrong_type_is_a_type_error_naming_it():
    class ReturnsTensor(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return Tensor(grad * 2)

    class ReturnsList(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return [2.0]

    for op in (ReturnsTensor, ReturnsList):
        x = Tensor([1.0], requires_grad=True)
        with pytest.raises(TypeError, match=op.__name__):
            op.apply(x).sum().backward()


@pytest.mark.parametrize(
    "values", [[3.0], [2.0, 2.0, 2.0], [[1.0, 1.0], [4.0, 5.0]]], ids=["one", "equal", "rows"]
)
def test_std_gradient_is_zero_where_torchs_is(values):
    t = Tensor(values, requires_grad=True)
    tt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    axis = -1 if t.ndim == 2 else None
    (t.std(axis=axis) if axis else t.std()).sum().backward()
    (tt.std(dim=-1, unbiased=False) if axis else tt.std(unbiased=False)).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), atol=1e-15)
    assert np.all(np.isfinite(t.grad))


def test_one_gradient_has_the_same_bits_whether_seeded_by_ones_or_by_sum():
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = Tensor(rng.normal(size=(5, 7)), requires_grad=True)
        b = Tensor(rng.normal(size=(7, 3)), requires_grad=True)
        (a @ b).backward(np.ones((5, 3)))
        seeded = a.grad.copy(), b.grad.copy()
        a.grad = b.grad = None
        (a @ b).sum().backward()
        assert np.array_equal(a.grad, seeded[0]) and np.array_equal(b.grad, seeded[1])


def test_gradcheck_on_a_tensor_made_by_ops_and_a_nan_derivative_fails():
    base = Tensor([0.3, -0.7], requires_grad=True)
    assert gradcheck(lambda q: q.tanh(), [base * 2.0])
    x = Tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # sqrt(|x|) at 0: inf * 0 = NaN
        assert not gradcheck(lambda t: t.abs().sqrt(), [x], raise_exception=False)


# ---------------------------------------------------------------------- vs torch, drawn
OPERANDS = ("a", "b", "c", "const")
steps = st.lists(
    st.tuples(
        st.sampled_from(("in place", "rebind")),
        st.sampled_from(("a", "b", "c", "d")),
        st.sampled_from(("+", "-", "*")),
        st.sampled_from(OPERANDS),
        st.booleans(),  # under no_grad
    ),
    min_size=1,
    max_size=6,
)


def _run(lib, program):
    """Apply ``program`` with Tensors (lib "ours") or torch tensors; the values, the
    verdict of each step and of backward, a's gradient, and (ours) which in-place steps
    were recorded as ops."""
    if lib == "ours":
        make = lambda v, g=False: Tensor(v, requires_grad=g)  # noqa: E731
        quiet = no_grad
    else:
        make = lambda v, g=False: torch.tensor(v, dtype=torch.float64, requires_grad=g)  # noqa: E731
        quiet = torch.no_grad
    a = make([1.0, -2.0, 0.5], True)
    env = {"a": a, "b": make([0.5, 1.5, -1.0]), "c": a * 2.0}
    env["d"] = env["c"] * env["b"]
    verdicts, recorded = [], []
    for kind, target, symbol, operand, silent in program:
        other = 0.75 if operand == "const" else env[operand]
        before = getattr(env[target], "_array", None)
        try:
            with quiet() if silent else nullcontext():
                if kind == "in place":
                    t = env[target]
                    if symbol == "+":
                        t += other
                    elif symbol == "-":
                        t -= other
                    else:
                        t *= other
                else:
                    t = env[target]
                    env[target] = (
                        t + other if symbol == "+" else t - other if symbol == "-" else t * other
                    )
            verdicts.append("ok")
        except RuntimeError:
            verdicts.append("raised")
        recorded.append(kind == "in place" and getattr(env[target], "_array", None) is not before)
    values = {k: _values(v) for k, v in env.items()}
    parts = [(v * (i + 1.0)).sum() for i, v in enumerate(env.values()) if v.requires_grad]
    if not parts:  # every tensor rebound under no_grad: nothing to differentiate, in either
        return values, [*verdicts, "no graph"], None, recorded
    loss = sum(parts[1:], parts[0])
    try:
        loss.backward()
        verdicts.append("backward ok")
        grad = None if a.grad is None else _values(a.grad)
    except RuntimeError:
        verdicts.append("backward raised")
        grad = None
    return values, verdicts, grad, recorded


def _values(v):
    if isinstance(v, torch.Tensor):
        return v.detach().numpy().copy()
    return np.array(v.data if isinstance(v, Tensor) else v)


@settings(max_examples=60, deadline=None)
@given(program=steps)
def test_drawn_in_place_sequences_match_torch_values_grads_and_verdicts(program):
    """Every step's verdict, the values and a's gradient as torch's; where torch refuses a
    backward because a recorded in-place op bumped the version of an array another op had
    saved, ours keeps the old array for that op (no version changes): the gradient must then
    be the mathematically right one, torch's for the same program written out of place."""
    ours = _run("ours", program)
    theirs = _run("torch", program)
    assert ours[1][:-1] == theirs[1][:-1], (program, ours[1], theirs[1])
    for name in ours[0]:
        np.testing.assert_allclose(ours[0][name], theirs[0][name], rtol=1e-12, err_msg=name)
    if ours[1][-1] != theirs[1][-1]:
        assert (ours[1][-1], theirs[1][-1]) == ("backward ok", "backward raised"), program
        rewritten = [
            ("rebind", *step[1:]) if was_recorded else step
            for step, was_recorded in zip(program, ours[3])
        ]
        theirs = _run("torch", rewritten)
        assert theirs[1][-1] == "backward ok", rewritten
    if theirs[2] is None:
        assert ours[2] is None
    else:
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_capture_refuses_a_recorded_in_place_update_rather_than_replay_a_stale_value():
    from tinygrad_moons import graph

    w = Tensor([1.0, 2.0], requires_grad=True)

    def step():
        h = w * 2.0
        h += w  # recorded: h keeps its identity, which a capture would misread
        return (h * h).sum()

    with pytest.raises(RuntimeError, match=r"graph.capture.*t = t \+ x"):
        graph.capture(step)
