"""Conv2d, the pooling layers, BatchNorm1d/2d, LayerNorm, Embedding and Flatten against
torch's modules in float64: outputs, parameter and input gradients, second derivatives,
running statistics in train and eval mode, and the state they save."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, grad, nn


def _params_to_torch(ours: nn.Module, theirs: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, value in ours.state_dict().items():
            getattr(theirs, name).copy_(torch.tensor(value))


def _same_buffers(ours, theirs):
    """BatchNorm's running statistics and count, ours against torch's."""
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(
            getattr(ours, name).data, getattr(theirs, name).numpy(), rtol=1e-12
        )


def _agree(ours, theirs, x, rtol=1e-9):
    """Same output, same gradients (input and parameters) and the same second derivative
    of the input (d/dx of <dL/dx, v>)."""
    rng = np.random.default_rng(0)
    t = Tensor(x, requires_grad=True)
    tt = torch.tensor(x, requires_grad=True)
    out, expected = ours(t), theirs(tt)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=1e-12)
    seed = rng.normal(size=out.shape)
    params = [p for _, p in ours.named_parameters()]
    torch_params = [dict(theirs.named_parameters())[n] for n, _ in ours.named_parameters()]
    firsts = grad(out, [t, *params], seed, create_graph=True)
    torch_firsts = torch.autograd.grad(
        expected, [tt, *torch_params], torch.tensor(seed), create_graph=True
    )
    for g, tg in zip(firsts, torch_firsts):
        np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=rtol, atol=1e-12)
    v = rng.normal(size=x.shape)
    want = np.zeros(x.shape)
    if torch_firsts[0].requires_grad:
        (torch_second,) = torch.autograd.grad(
            (torch_firsts[0] * torch.tensor(v)).sum(), tt, allow_unused=True
        )
        want = want if torch_second is None else torch_second.numpy()
    got = np.zeros(x.shape)
    if firsts[0].requires_grad:
        (second,) = grad((firsts[0] * v).sum(), t, allow_unused=True)
        got = got if second is None else second.data
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize(
    "kw", [{}, {"stride": 2, "padding": 1}, {"groups": 2, "bias": False}, {"dilation": 2}]
)
def test_conv2d_layer_as_torch(kw):
    ours = nn.Conv2d(4, 6, 3, **kw, seed=0)
    theirs = torch.nn.Conv2d(4, 6, 3, **kw).double()
    _params_to_torch(ours, theirs)
    _agree(ours, theirs, np.random.default_rng(1).normal(size=(2, 4, 7, 7)))


def test_conv2d_draws_torch_default_range_and_its_repr():
    layer = nn.Conv2d(2, 3, (3, 2), seed=0)
    bound = 1 / np.sqrt(2 * 3 * 2)
    assert layer.weight.shape == (3, 2, 3, 2) and np.abs(layer.weight.data).max() <= bound
    assert "Conv2d(2, 3, kernel_size=(3, 2)" in repr(layer)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


@pytest.mark.parametrize(
    ("cls", "shape"),
    [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 2)), ("BatchNorm2d", (4, 3, 2, 3))],
)
def test_batchnorm_train_eval_and_running_statistics_as_torch(cls, shape):
    ours, theirs = (
        getattr(nn, cls)(3, momentum=0.2),
        getattr(torch.nn, cls)(3, momentum=0.2).double(),
    )
    rng = np.random.default_rng(2)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.normal(size=3)))
        theirs.bias.copy_(torch.tensor(rng.normal(size=3)))
    ours.load_state_dict(
        {
            **ours.state_dict(),
            "weight": theirs.weight.detach().numpy(),
            "bias": theirs.bias.detach().numpy(),
        }
    )
    for _ in range(3):
        _agree(ours, theirs, rng.normal(size=shape) * 2 + 1)
    _same_buffers(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.eval(), theirs.eval()
    before = ours.running_mean.data.copy()
    _agree(ours, theirs, rng.normal(size=shape))
    np.testing.assert_array_equal(ours.running_mean.data, before)


def test_batchnorm_refuses_one_value_per_channel_and_a_wrong_shape():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(np.ones((1, 3)))
    with pytest.raises(ValueError, match="channels on axis 1"):
        nn.BatchNorm2d(3)(np.ones((2, 4, 2, 2)))


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
@pytest.mark.parametrize(
    ("make", "option"),
    [
        (lambda v: nn.BatchNorm1d(2, affine=v), "BatchNorm1d's affine"),
        (lambda v: nn.BatchNorm2d(2, affine=v), "BatchNorm2d's affine"),
        (lambda v: nn.LayerNorm(2, elementwise_affine=v), "LayerNorm's elementwise_affine"),
        (lambda v: nn.Conv2d(1, 2, 3, bias=v), "Conv2d's bias"),
    ],
)
def test_the_layers_switches_take_a_bool(make, option, value):
    """bool("False") is True: a string (or a number) would keep weight and bias silently."""
    with pytest.raises(TypeError, match=f"{option} takes True or False, got {value!r}"):
        make(value)
    assert make(np.False_).bias is None and make(np.True_).bias is not None  # numpy's bools do


def test_layernorm_as_torch():
    ours, theirs = nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3)).double()
    rng = np.random.default_rng(3)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.normal(size=(2, 3))))
    ours.weight.data[...] = theirs.weight.detach().numpy()
    _agree(ours, theirs, rng.normal(size=(4, 2, 3)))
    with pytest.raises(ValueError, match="last axes"):
        ours(np.ones((2, 3, 2)))


def test_embedding_as_torch_repeats_add_their_gradients():
    ours = nn.Embedding(5, 3, seed=0)
    theirs = torch.nn.Embedding(5, 3).double()
    _params_to_torch(ours, theirs)
    index = np.array([[1, 4, 1], [0, 1, 2]])
    out, expected = ours(index), theirs(torch.tensor(index))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    seed = np.random.default_rng(0).normal(size=out.shape)
    out.backward(seed)
    expected.backward(torch.tensor(seed))
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"indices in \[0, 5\)"):
        ours(np.array([5]))
    with pytest.raises(TypeError, match="integer indices"):
        ours(np.array([0.5]))


def test_flatten_and_pool_layers():
    x = np.random.default_rng(4).normal(size=(2, 3, 4, 4))
    assert nn.Flatten()(x).shape == (2, 48)
    _agree(nn.MaxPool2d(2), torch.nn.MaxPool2d(2), x)
    _agree(nn.AvgPool2d(3, 1, 1), torch.nn.AvgPool2d(3, 1, 1), x)


TOO_SMALL = [((2, 3, 1, 1), 2, None, 0, 1), ((1, 2, 1, 5), (4, 2), 1, (1, 0), 1)]


@pytest.mark.parametrize(
    ("pool", "shape", "kernel", "stride", "padding", "dilation"),
    [(pool, *case) for pool in ("max_pool2d", "avg_pool2d") for case in TOO_SMALL]
    + [("max_pool2d", (1, 1, 3, 3), 2, 1, 0, 3)],
)
def test_a_pool_too_big_for_its_image_is_refused_in_torchs_words(
    pool, shape, kernel, stride, padding, dilation
):
    """A window larger than the padded image is torch's "Output size is too small", naming
    the sizes as torch does (it said conv2d's "Kernel size can't be greater than actual
    input size", which torch never says of a pool)."""
    x = np.random.default_rng(0).normal(size=shape)
    extra = {"dilation": dilation} if dilation != 1 else {}
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch.nn.functional, pool)(torch.tensor(x), kernel, stride, padding, **extra)
    with pytest.raises(ValueError) as ours:
        getattr(F, pool)(x, kernel, stride, padding, **extra)
    assert str(ours.value) == f"{pool}: {theirs.value}"


@pytest.mark.parametrize(("cls", "shape"), [("BatchNorm1d", (5, 3)), ("BatchNorm2d", (4, 3, 2, 3))])
def test_batchnorm_momentum_none_is_torchs_cumulative_average(cls, shape, tmp_path):
    """momentum=None: the running statistics are the plain mean of every training batch's,
    counted in num_batches_tracked, as torch's (it was float(None), a TypeError). The count
    is saved and loaded, so a resumed run goes on averaging with the right weights."""
    ours, theirs = getattr(nn, cls)(3, momentum=None), getattr(torch.nn, cls)(3, momentum=None)
    theirs = theirs.double()
    rng = np.random.default_rng(5)
    for step in range(5):
        if step == 3:  # resumed from a saved file
            nn.save(ours, tmp_path / "bn.npz")
            ours = getattr(nn, cls)(3, momentum=None)
            nn.load(ours, tmp_path / "bn.npz")
        _agree(ours, theirs, rng.normal(size=shape) * 2 + 1)
        _same_buffers(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.eval(), theirs.eval()
    _agree(ours, theirs, rng.normal(size=shape))
    # momentum set to None later averages over the batches counted so far, as torch's
    late, late_torch = getattr(nn, cls)(3), getattr(torch.nn, cls)(3).double()
    for step in range(3):
        if step == 2:
            late.momentum = late_torch.momentum = None
        _agree(late, late_torch, rng.normal(size=shape) + step)
    _same_buffers(late, late_torch)


@pytest.mark.parametrize(
    ("layer", "arguments"),
    [
        ("MaxPool2d", {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 2}),
        ("AvgPool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
        ("AvgPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}),
    ],
)
def test_pool_layers_take_torchs_dilation_and_count_include_pad(layer, arguments):
    """The layers take what their functions take, as torch's do: nn.AvgPool2d(3,
    count_include_pad=False) was a TypeError naming MaxPool2d.__init__, and MaxPool2d had
    no dilation. count_include_pad is keyword-only: torch's fourth argument is ceil_mode."""
    ours, theirs = getattr(nn, layer)(**arguments), getattr(torch.nn, layer)(**arguments)
    _agree(ours, theirs, np.random.default_rng(6).normal(size=(2, 3, 6, 5)))
    with pytest.raises(TypeError):
        nn.AvgPool2d(3, 2, 1, True)  # torch's ceil_mode=True, which is not here


@pytest.mark.parametrize(
    ("shape", "arguments"),
    [((2, 1, 1, 1), (2, None, 1, 2)), ((1, 2, 1, 4), ((2, 1), 1, (1, 0), (2, 1)))],
)
def test_a_max_pool_window_on_padding_alone_is_minus_inf_through_no_pixel(shape, arguments):
    """Dilation can step over a small image: MaxPool2d(2, padding=1, dilation=2) on a 1 x 1
    image reads rows and columns -1 and 1, padding alone. torch gives -inf; ours gave the
    pixel at [-1, -1] (the first cell's index wrapped round to the far edge: 0.7 for the
    image [[0.7]]), and passed it the gradient. torch's backward there writes outside the
    image (malloc's "unaligned tcache chunk" abort), so only its forward is compared."""
    x = np.random.default_rng(7).normal(size=shape)
    expected = torch.nn.functional.max_pool2d(torch.tensor(x), *arguments).numpy()
    assert np.all(expected == -np.inf)
    t = Tensor(x, requires_grad=True)
    out = F.max_pool2d(t, *arguments)
    np.testing.assert_array_equal(out.data, expected)
    (g,) = grad(out, t, np.ones(out.shape), allow_unused=True)
    assert g is None or not g.data.any()
    np.testing.assert_array_equal(nn.MaxPool2d(*arguments)(x).data, expected)
