"""ops.SoftmaxCrossEntropy applied directly checks its labels, eagerly and at every replay.

A user's layer, or a function handed to ``capture``, may call the op itself instead of
``F.softmax_cross_entropy``. A negative label used to pick another row's logit (numpy's
negative indices) and a label one past the last class the next row's first logit: a
finite, wrong loss. The op now refuses them with F's own words, and so does a replay
that reads labels changed since capture (an array written in place, a Tensor's new data,
labels derived from data). Good labels give torch float64's loss and gradient.
"""

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, ops
from tinygrad_moons.graph import capture

LOGITS = np.array([[1.0, 2.0], [3.0, 5.0], [-1.0, 0.5]])

BAD_LABELS = {
    "negative": np.array([0, -1, 1]),
    "the last class plus one": np.array([0, 2, 1]),
    "a fraction": np.array([0.0, 0.5, 1.0]),
    "NaN": np.array([0.0, np.nan, 1.0]),
    "an infinity": np.array([0.0, 1.0, np.inf]),
    "a bool": np.array([True, False, True]),
    "too few": np.array([0, 1]),
    "too many": np.array([0, 1, 1, 0]),
    "2-D": np.array([[0, 1, 1]]),
    "a string": ["0", "1", "1"],
    "a huge int": np.array([0, 2**62, 1]),
}


def _message(call, *args):
    with pytest.raises(ValueError) as error:
        call(*args)
    return str(error.value)


def _torch_loss(logits, labels, reduction):
    torch = pytest.importorskip("torch")
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(
        z, torch.tensor(np.asarray(labels, dtype=np.int64)), reduction=reduction
    )
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), z.grad.numpy()


def _ours(apply, logits, labels, reduction):
    z = Tensor(logits.copy(), requires_grad=True)
    loss = apply(z, labels, reduction)
    loss.backward(np.ones(loss.shape))
    return loss.data, z.grad


@pytest.mark.parametrize("what", list(BAD_LABELS))
def test_direct_apply_refuses_bad_labels_in_f_words(what):
    labels = BAD_LABELS[what]
    z = Tensor(LOGITS, requires_grad=True)
    want = _message(F.softmax_cross_entropy, z, labels, "sum")
    assert _message(ops.SoftmaxCrossEntropy.apply, z, labels, "sum") == want
    assert _message(ops.SoftmaxCrossEntropy.apply, z, labels) == want  # default reduction


@pytest.mark.parametrize("what", list(BAD_LABELS))
def test_a_captured_direct_apply_refuses_bad_labels_at_capture(what):
    labels = BAD_LABELS[what]
    z = Tensor(LOGITS, requires_grad=True)
    want = _message(F.softmax_cross_entropy, z, labels, "mean")
    got = _message(capture, lambda: ops.SoftmaxCrossEntropy.apply(z, labels, "mean"))
    assert got == want


def test_direct_apply_refuses_a_bad_reduction_and_bad_logits_in_f_words():
    z = Tensor(LOGITS, requires_grad=True)
    labels = np.array([0, 1, 1])
    for args in [(z, labels, "avg"), (Tensor(LOGITS[0]), labels[:1], "sum")]:
        want = _message(F.softmax_cross_entropy, *args)
        assert _message(ops.SoftmaxCrossEntropy.apply, *args) == want
    empty = Tensor(np.zeros((3, 0)))
    assert _message(ops.SoftmaxCrossEntropy.apply, empty, labels, "sum") == _message(
        F.softmax_cross_entropy, empty, labels, "sum"
    )


LABEL_KINDS = {
    "int64": lambda y: np.asarray(y, dtype=np.int64),
    "int32": lambda y: np.asarray(y, dtype=np.int32),
    "uint8": lambda y: np.asarray(y, dtype=np.uint8),
    "whole floats": lambda y: np.asarray(y, dtype=np.float64),
    "a list": lambda y: list(y),
    "a Tensor": lambda y: Tensor(np.asarray(y, dtype=np.float64)),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", list(LABEL_KINDS))
def test_direct_apply_of_good_labels_is_torch_float64s_loss(kind, reduction):
    y = [1, 0, 1]
    want_loss, want_grad = _torch_loss(LOGITS, y, reduction)
    loss, grad = _ours(ops.SoftmaxCrossEntropy.apply, LOGITS, LABEL_KINDS[kind](y), reduction)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_replay_reads_labels_written_in_place_and_refuses_bad_ones(reduction):
    z = Tensor(LOGITS.copy(), requires_grad=True)
    labels = np.array([0, 1, 1])
    graph = capture(lambda: ops.SoftmaxCrossEntropy.apply(z, labels, reduction).sum())
    for bad in ([0, -1, 1], [0, 1, 2], [-3, 1, 1]):
        labels[:] = bad
        want = _message(F.softmax_cross_entropy, z, labels, reduction)
        assert _message(graph.replay) == want
        assert _message(graph.forward) == want
    labels[:] = [1, 0, 0]  # good again: the replay is torch's answer for the new labels
    z.grad = None
    value = graph.replay().item()
    want_loss, want_grad = _torch_loss(LOGITS, labels, reduction)
    np.testing.assert_allclose(value, np.sum(want_loss), rtol=1e-12)
    np.testing.assert_allclose(z.grad, want_grad, rtol=1e-12, atol=1e-15)


def test_a_replay_refuses_bad_labels_fed_through_a_tensor():
    z = Tensor(LOGITS.copy(), requires_grad=True)
    y = Tensor([1.0, 0.0, 1.0])
    graph = capture(lambda: ops.SoftmaxCrossEntropy.apply(z, y, "sum"))
    for bad in ([1.0, -1.0, 1.0], [1.0, 0.0, 2.0], [0.5, 0.0, 1.0], [np.nan, 0.0, 1.0]):
        y.data = np.array(bad)
        assert _message(graph.replay) == _message(F.softmax_cross_entropy, z, bad, "sum")
    y.data = np.array([0.0, 1.0, 0.0])
    z.grad = None
    value = graph.replay().item()
    want_loss, want_grad = _torch_loss(LOGITS, [0, 1, 0], "sum")
    np.testing.assert_allclose(value, want_loss, rtol=1e-12)
    np.testing.assert_allclose(z.grad, want_grad, rtol=1e-12, atol=1e-15)


def test_a_replay_refuses_labels_derived_from_data_that_leave_the_classes():
    # labels from a three-column score's argmax, for two-class logits: in range at
    # capture, one past the last class after the scores change
    z = Tensor(LOGITS.copy(), requires_grad=True)
    scores = Tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    graph = capture(lambda: ops.SoftmaxCrossEntropy.apply(z, scores.argmax(axis=1), "sum"))
    scores.data = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    want = _message(F.softmax_cross_entropy, z, scores.data.argmax(axis=1), "sum")
    assert "label 2 at position 1 is not below 2" in want
    assert _message(graph.replay) == want
    eager = _message(ops.SoftmaxCrossEntropy.apply, z, scores.argmax(axis=1), "sum")
    assert eager == want


def test_a_read_only_label_array_is_a_constant_of_the_step_and_right():
    z = Tensor(LOGITS.copy(), requires_grad=True)
    labels = np.array([1.0, 1.0, 0.0])  # whole floats, as F accepts them
    labels.flags.writeable = False
    graph = capture(lambda: ops.SoftmaxCrossEntropy.apply(z, labels, "mean"))
    assert "check_labels" not in graph.source  # checked once, at capture
    value = graph.replay().item()
    want_loss, want_grad = _torch_loss(LOGITS, labels, "mean")
    np.testing.assert_allclose(value, want_loss, rtol=1e-12)
    np.testing.assert_allclose(z.grad, want_grad, rtol=1e-12, atol=1e-15)


def test_f_and_fit_tell_the_op_the_labels_are_checked_so_their_steps_check_once():
    z = Tensor(LOGITS.copy(), requires_grad=True)
    labels = np.array([0, 1, 1])
    graph = capture(lambda: F.softmax_cross_entropy(z, labels, "sum"))
    assert "check_labels" not in graph.source  # F's derived labels check themselves
    labels[1] = -1
    want = "label -1 at position 1 is negative"
    assert want in _message(graph.replay)  # and still refuse a bad label at replay
    direct = capture(lambda: ops.SoftmaxCrossEntropy.apply(z, np.array([0, 1, 1]), "sum"))
    assert "check_labels" in direct.source


def test_checked_true_is_the_callers_word_and_gives_the_same_numbers():
    labels = np.array([1, 0, 1])
    checked = _ours(
        lambda z, y, r: ops.SoftmaxCrossEntropy.apply(z, y, r, True), LOGITS, labels, "sum"
    )
    unchecked = _ours(ops.SoftmaxCrossEntropy.apply, LOGITS, labels, "sum")
    for a, b in zip(checked, unchecked, strict=True):
        np.testing.assert_array_equal(a, b)
