"""graph.capture: replay equals eager bit for bit, and what is not static is refused."""

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_moons

from tinygrad_moons import Tensor, reference, three_gradients
from tinygrad_moons.graph import GraphChangedError, capture

LR, REG, STEPS = 0.01, 0.01, 300


def _trajectory(replayed: bool, hidden: int = 3):
    """Losses and gradients of every step of full-batch training, eager or replayed."""
    X, y = make_moons(200, noise=0.2, random_state=0)
    X = Tensor(X)
    params = three_gradients.as_tensors(reference.init_params(hidden, seed=0))
    graph = (
        capture(lambda: three_gradients.summed_objective(params, X, y, REG)) if replayed else None
    )
    losses, grads = [], []
    for _ in range(STEPS):
        if replayed:
            loss = graph.replay()
        else:
            loss = three_gradients.summed_objective(params, X, y, REG)
            loss.backward()
        losses.append(loss.item())
        grads.append([t.grad.copy() for t in params.values()])
        for t in params.values():
            t.data -= LR * t.grad
            t.grad = None
    return losses, grads, [t.data.copy() for t in params.values()]


@pytest.mark.parametrize("hidden", [3, 50])
def test_replayed_training_equals_eager_training_bit_for_bit(hidden):
    eager = _trajectory(replayed=False, hidden=hidden)
    replayed = _trajectory(replayed=True, hidden=hidden)
    assert eager[0] == replayed[0]
    for step, (want, got) in enumerate(zip(eager[1], replayed[1], strict=True)):
        for a, b in zip(want, got, strict=True):
            assert np.array_equal(a, b), f"gradients differ at step {step}"
    for a, b in zip(eager[2], replayed[2], strict=True):
        assert np.array_equal(a, b)


def test_replay_adds_into_grad_like_backward():
    w = Tensor([1.0, 2.0], requires_grad=True)
    graph = capture(lambda: (w * w).sum())
    graph.replay()
    graph.replay()
    np.testing.assert_array_equal(w.grad, [4.0, 8.0])


def test_replay_reads_new_leaf_data_of_the_same_shape():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0])
    graph = capture(lambda: (w * x).sum())
    x.data = np.array([10.0, 20.0])
    assert graph.replay(backward=False).item() == 50.0
    assert w.grad is None


def test_replay_recomputes_ops_on_constants_from_a_changed_leaf():
    w = Tensor([1.0], requires_grad=True)
    x = Tensor([2.0])
    graph = capture(lambda: (w * x.exp()).sum())
    x.data = np.array([0.0])
    assert graph.replay(backward=False).item() == 1.0


def test_a_leaf_whose_shape_changed_is_refused():
    w = Tensor([1.0, 2.0], requires_grad=True)
    graph = capture(lambda: (w * w).sum())
    w.data = np.ones(3)
    with pytest.raises(GraphChangedError, match=r"shape \(2,\).*now has shape \(3,\)"):
        graph.replay()


def test_a_leaf_whose_shape_changed_is_refused_when_gradients_add_up_too():
    # With a .grad present, replay generates its accumulating step on first use: from the
    # leaves as they are then, so a changed shape must be refused before it is generated.
    x = Tensor(np.ones((3, 2)))
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    graph = capture(lambda: (x @ w).sum())
    w.grad = np.zeros((2, 2))
    w.data = np.ones((3, 2))
    with pytest.raises(GraphChangedError, match=r"shape \(2, 2\).*now has shape \(3, 2\)"):
        graph.replay()


def test_a_function_that_builds_another_graph_each_call_is_refused():
    w = Tensor([1.0, 2.0], requires_grad=True)
    calls = []

    def alternating():
        calls.append(1)
        return (w * w).sum() if len(calls) % 2 else w.exp().sum()

    with pytest.raises(GraphChangedError, match="different graph"):
        capture(alternating)


def test_a_function_whose_constants_change_between_calls_is_refused():
    w = Tensor([1.0, 2.0], requires_grad=True)
    rng = np.random.RandomState(0)
    with pytest.raises(GraphChangedError, match="argument 1 of op 0 .Mul. changed"):
        capture(lambda: (w * rng.randn(2)).sum())


def test_a_data_dependent_shape_is_refused_at_replay():
    w = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    mask = np.array([True, False, True])
    graph = capture(lambda: w[mask].sum())
    mask[1] = True  # the op reads the mask it was given: now it selects three elements
    with pytest.raises(GraphChangedError, match=r"GetItem made shape \(3,\).*has \(2,\)"):
        graph.replay()


def test_an_output_made_by_no_op_is_refused():
    w = Tensor([1.0], requires_grad=True)
    with pytest.raises(GraphChangedError, match="no op"):
        capture(lambda: w)


def test_capture_needs_a_function_returning_a_tensor():
    with pytest.raises(TypeError, match="must return a Tensor"):
        capture(lambda: 1.0)


def test_capture_inside_a_captured_function_is_refused():
    w = Tensor([1.0], requires_grad=True)

    def nested():
        capture(lambda: w * 2)
        return w * 3

    with pytest.raises(RuntimeError, match="inside a function being captured"):
        capture(nested)


def test_backward_replay_of_an_output_without_grad_is_a_clear_error():
    x = Tensor([1.0, 2.0])
    graph = capture(lambda: (x * x).sum())
    assert graph.replay(backward=False).item() == 5.0
    with pytest.raises(ValueError, match="requires grad"):
        graph.replay()


def test_a_dropout_mask_is_drawn_afresh_at_every_replay_from_the_eager_stream():
    from tinygrad_moons import nn

    def model_and_input():
        model = nn.MLP([2, 4, 2], dropout=0.5, seed=0)
        return model, Tensor(np.ones((5, 2)))

    model, X = model_and_input()
    graph = capture(lambda: model(X).sum())  # draws nothing from the stream
    replayed = [graph.replay(backward=False).item() for _ in range(4)]
    model, X = model_and_input()
    eager = [model(X).sum().item() for _ in range(4)]
    assert replayed == eager and len(set(eager)) > 1


def test_the_source_of_the_write_ups_network_reads_like_its_backprop():
    X, y = make_moons(200, noise=0.2, random_state=0)
    X = Tensor(X)
    params = three_gradients.as_tensors(reference.init_params(3, seed=0))
    graph = capture(
        lambda: three_gradients.summed_objective(params, X, y, REG), names={"X": X, **params}
    )
    source = graph.source
    compile(source, "<source>", "exec")
    lines = [line.strip() for line in source.splitlines()]
    for expected in [
        "np.tanh(z1, out=a1)",
        "np.copyto(dz2, probs)",  # delta3 = probs
        "dz2_flat[picks] -= 1.0",  # delta3[range(N), y] -= 1, y read at every replay
        "a1.T.dot(dz2, out=dW2_part)",  # dW2 = a1^T delta3, as the write-up writes it
        # the layout asked only where the leaf check's fast path did not vouch for it
        "dz2.dot(W2.T, out=da1) if leaves_whole or W2.flags.forc "
        "else np.matmul(dz2, W2.T, out=da1)",
        "np.multiply(dz1, da1, out=dz1)",  # delta2 = (1 - a1^2) * delta3 W2^T
        "X.T.dot(dz1, out=dW1_part) if leaves_whole or X.flags.forc "
        "else np.matmul(X.T, dz1, out=dW1_part)",
        "np.multiply(0.01, W1, out=dW1)",  # + reg W1
    ]:
        assert expected in lines, expected
    assert lines.index("def backward():") > lines.index("np.tanh(z1, out=a1)")
    # the tutorial's table of the write-up's lines beside the generated ones quotes these
    table = (Path(__file__).parents[2] / "docs" / "tutorial.md").read_text()
    rows = [row for row in table.splitlines() if row.startswith("| `") and "out=" in row]
    quoted = [code for row in rows for code in re.findall(r"`([^`]*out=[^`]*)`", row)]
    assert len(quoted) >= 10
    for code in quoted:
        assert code in lines or any(line.startswith(code + " if ") for line in lines), code
    assert "Tensor(" not in source and "apply" not in source


def test_capture_in_one_thread_records_none_of_another_threads_ops():
    import threading

    w = Tensor([1.0, 2.0], requires_grad=True)
    busy = threading.Event()
    stop = threading.Event()

    def other_thread():
        while not stop.is_set():
            (Tensor([3.0], requires_grad=True) * 2.0).exp()
            busy.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:
        busy.wait(10)

        def fn():
            out = w * 3.0
            busy.clear()
            busy.wait(10)  # the other thread applies ops inside this call
            return out.sum()

        graph = capture(fn)
    finally:
        stop.set()
        worker.join()
    assert graph.replay().item() == 9.0
    assert "Exp" not in graph.source


def test_check_refuses_a_constant_derived_from_the_numbers_after_they_change():
    w = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    fn = lambda: (w * (w.data > 0)).sum()  # noqa: E731 (the mask is computed outside the ops)
    graph = capture(fn)
    graph.check(fn)  # the same numbers: the same graph
    w.data = np.array([-1.0, 2.0, 3.0])
    with pytest.raises(GraphChangedError, match="another graph than the captured one"):
        graph.check(fn)


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
def test_the_graphs_switches_take_a_bool(value):
    """bool("False") is True: replay(backward="False") would add gradients into .grad,
    forward(value="False") compute the value, backward(overwrite="False") write over a
    .grad it should refuse."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0])
    graph = capture(lambda: (w * x).tanh().sum())
    for call, option in (
        (lambda v: graph.replay(backward=v), "replay(backward)"),
        (lambda v: graph.forward(value=v), "forward(value)"),
        (lambda v: graph.backward(overwrite=v), "backward(overwrite)"),
    ):
        with pytest.raises(TypeError, match=rf"{re.escape(option)} takes True or False, got"):
            call(value)
    expected = float(np.tanh(np.array([3.0, 8.0])).sum())
    for yes, no in ((True, False), (np.True_, np.False_)):  # numpy's bools too
        w.grad = None
        assert graph.replay(backward=no).item() == expected and w.grad is None
        assert graph.replay(backward=yes).item() == expected and w.grad is not None
        first = w.grad.copy()
        graph.forward(value=no)
        assert graph.value().item() == expected
        graph.backward(overwrite=yes)
        np.testing.assert_array_equal(w.grad, first)
        assert graph.forward(value=yes).item() == expected
        with pytest.raises(ValueError, match="set it to None first"):
            graph.backward(overwrite=no)
