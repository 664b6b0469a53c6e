"""``detach()`` shares the array, as torch's shares storage and the version counter: an
in-place update of the detached tensor or of its source, recorded or not, writes into that
array, so the other one sees it; an op that saved the old values then refuses its backward
in torch's words; the updated tensor's own new graph gives torch's gradients. Each case
runs the same program on ours and on torch float64 (the drawn programs in
``test_tensor_views.py`` mix ``detach`` with views and in-place updates too).
"""

import numpy as np
import pytest
import torch

from tinygrad_moons import Tensor, grad, gradcheck, gradgradcheck, ops

VERSION_ERROR = "modified by an inplace operation"
X0, W0 = np.array([[1.0, 2.0], [3.0, -1.5]]), np.array([[0.5, 2.0], [-1.0, 3.0]])


def _update(name, d, w):
    """The in-place update ``name`` of ``d`` with ``w`` (both libraries spell these alike)."""
    if name == "+=":
        d += w
    elif name == "-=":
        d -= w
    elif name == "*=":
        d *= w
    elif name == "/=":
        d /= w
    elif name == "**=":
        d **= w
    elif name == "twice *=":
        d *= w
        d *= w
    elif name == "row +=":
        row = d[0]
        row += w[0]
    elif name == "set row":
        d[1] = w[0] * 3.0
    elif name == "T column *=":
        column = d.T[1]
        column *= w[1]
    else:
        raise AssertionError(name)


SOURCES = {
    "made by an op": lambda x: x * 2.0,
    "leaf that requires grad": lambda x: x,
    "row of a tensor made by an op": lambda x: (x * 2.0)[0],
    "leaf without grad": None,
}
UPDATES = ("+=", "-=", "*=", "/=", "**=", "twice *=", "row +=", "set row", "T column *=")


def _run(lib, source, update):
    """y from ``source``, d = y.detach(), ``update`` of d with w; the values of y and d,
    the gradient of a weighted sum of d for w, and what a backward through y gives."""
    make = (
        (lambda v, g: Tensor(v, requires_grad=g))
        if lib == "ours"
        else (lambda v, g: torch.tensor(v, dtype=torch.float64, requires_grad=g))
    )
    x, w = make(X0, True), make(W0, True)
    y = make(X0, False) if SOURCES[source] is None else SOURCES[source](x)
    d = y.detach()
    if source.startswith("row") and update.startswith(("row", "set", "T")):
        update = "+="  # d is 1-d
    _update(update, d, w if d.ndim == 2 else w[1])
    weights = np.arange(1.0, 1.0 + d.numel() if lib == "torch" else 1.0 + d.size)
    (d * make(weights.reshape(d.shape), False)).sum().backward()
    values = [_array(y), _array(d)]
    through_y = None
    if y.requires_grad:
        try:
            (y * y).sum().backward()
            through_y = _array(x.grad)
        except RuntimeError as error:
            assert VERSION_ERROR in str(error)
            through_y = "raised"
    return values, _array(w.grad), through_y


def _array(t):
    return t.detach().numpy().copy() if isinstance(t, torch.Tensor) else np.array(t.data)


@pytest.mark.parametrize("update", UPDATES)
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_an_update_of_a_detached_tensor_is_torchs(source, update):
    ours, theirs = _run("ours", source, update), _run("torch", source, update)
    for mine, torchs in zip(ours[0], theirs[0], strict=True):
        np.testing.assert_allclose(mine, torchs, rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    if isinstance(theirs[2], str) or theirs[2] is None:
        assert ours[2] == theirs[2] if theirs[2] is None else isinstance(ours[2], str)
    else:
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_the_issues_example_writes_into_the_original():
    x, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 1.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    d += w
    np.testing.assert_array_equal(y.data, [3.0, 5.0])
    assert d.requires_grad and not d.is_leaf
    assert y._version == d._version == 1


def test_a_detached_tensor_times_itself_after_an_update_has_the_right_gradient():
    """torch refuses this backward (mul_'s other is the tensor it writes); ours saves the
    values before the update for both factors, so d(d^2)/dw = 2 d holds."""
    x, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([0.5, -3.0], requires_grad=True)
    d = (x * 2).detach()
    d += w
    d *= d
    np.testing.assert_array_equal(d.data, [6.25, 1.0])
    d.sum().backward()
    np.testing.assert_array_equal(w.grad, 2 * np.array([2.5, 1.0]))
    assert x.grad is None


def test_a_saved_output_written_through_its_detached_alias_raises_as_torch():
    x, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 1.0], requires_grad=True)
    y = x.exp()  # Exp saves its output: y's array
    d = y.detach()
    d += w
    with pytest.raises(RuntimeError, match=rf"{VERSION_ERROR}.*Exp"):
        y.sum().backward()


def test_a_recorded_update_of_the_source_reaches_its_detached_alias():
    x, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    y *= w
    np.testing.assert_array_equal(d.data, [6.0, 16.0])
    y.sum().backward()
    tx, tw = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in ([1, 2], [3, 4]))
    ty = tx * 2
    ty *= tw
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    np.testing.assert_array_equal(w.grad, tw.grad.numpy())


def test_an_op_that_used_the_detached_tensor_before_its_update_raises_as_torch():
    x, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    d = (x * 2).detach()
    used = d * w  # Mul saves d's array
    d += w
    with pytest.raises(RuntimeError, match=rf"{VERSION_ERROR}.*Mul"):
        used.sum().backward()


def test_second_derivatives_through_an_updated_detached_tensor_are_torchs():
    def run(lib):
        if lib == "ours":
            make, differentiate = (lambda v: Tensor(v, requires_grad=True)), grad
        else:
            make = lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)  # noqa: E731
            differentiate = torch.autograd.grad
        x, w = make([1.0, 2.0]), make([0.5, -3.0])
        d = (x * 2).detach()
        d *= w
        d **= 2.0
        (g,) = differentiate((d * d * w).sum(), [w], create_graph=True)
        (g * g).sum().backward()
        return _array(g), _array(w.grad)

    for mine, torchs in zip(run("ours"), run("torch"), strict=True):
        np.testing.assert_allclose(mine, torchs, rtol=1e-12)


def test_without_a_live_detached_alias_a_recorded_update_keeps_the_saved_array():
    x, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([1.0, 1.0], requires_grad=True)
    y = x.exp()
    y.detach()  # gone at once: nothing shares y's array any more
    y += w
    y.sum().backward()  # Exp's saved output was not written
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]), rtol=1e-15)


def test_overwrite_passes_finite_difference_checks_to_second_order():
    x = Tensor(np.array([[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]]), requires_grad=True)
    assert gradcheck(lambda t: ops.Overwrite.apply(t * t, np.zeros(t.shape)), [x])
    assert gradgradcheck(lambda t: ops.Overwrite.apply(t * t, np.zeros(t.shape)), [x])
    into = np.zeros(3)
    out = ops.Overwrite.apply(Tensor([1.0, 2.0, 3.0], requires_grad=True), into)
    assert out.data is into and np.array_equal(into, [1.0, 2.0, 3.0])
