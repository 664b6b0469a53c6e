"""torch's layer options a habit types, with torch's meaning: Conv2d's padding 'same' and
'valid', the pools' ceil_mode, one unbatched (C, H, W) image, Embedding's padding_idx,
BatchNorm's track_running_stats=False and num_batches_tracked, Softplus's beta and
threshold. Each against torch float64 with the same weights: values, first derivatives
and second derivatives (tests/torch_twin.py). The options left out are refused, naming
what to write."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_moons.functional as F
from tests.torch_twin import assert_same, ours, theirs
from tinygrad_moons import Tensor, checkpoint, grad, nn
from tinygrad_moons.graph import capture


def _same_derivatives(our_fn, torch_fn, arrays, what):
    for got, want, part in zip(
        ours(our_fn, arrays), theirs(torch_fn, arrays), ("value", "d1", "d2")
    ):
        if part == "value":
            assert np.shape(got) == np.shape(want), what
            assert_same(got, want, f"{what}: {part}")
        else:
            for g, w in zip(got, want, strict=True):
                assert_same(g, w, f"{what}: {part}")


# ---------------------------------------------------------------------- Conv2d padding words
@pytest.mark.parametrize(
    ("size", "kernel", "dilation"),
    [
        ((5, 6), (3, 3), (1, 1)),
        ((5, 6), (2, 4), (1, 1)),
        ((4, 7), (2, 3), (2, 1)),
        ((3, 3), (4, 1), (1, 3)),
    ],
)
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_padding_words_are_torchs(size, kernel, dilation, padding):
    """'same' with an even kernel pads one more zero at the bottom and right, as torch's."""
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 2, *size)), rng.normal(size=(3, 2, *kernel)), rng.normal(size=3)
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if padding == "valid" and (span[0] > size[0] or span[1] > size[1]):
        return
    _same_derivatives(
        lambda x, w, b: F.conv2d(x, w, b, padding=padding, dilation=dilation),
        lambda x, w, b: TF.conv2d(x, w, b, padding=padding, dilation=dilation),
        [x, w, b],
        f"conv2d padding={padding!r}",
    )
    if padding == "same":
        assert F.conv2d(x, w, padding="same", dilation=dilation).shape[2:] == size


def test_conv2d_module_with_padding_same_is_torchs():
    ours_layer = nn.Conv2d(2, 3, (2, 3), padding="same", seed=0)
    theirs_layer = torch.nn.Conv2d(2, 3, (2, 3), padding="same").double()
    with torch.no_grad():
        theirs_layer.weight.copy_(torch.tensor(ours_layer.weight.data))
        theirs_layer.bias.copy_(torch.tensor(ours_layer.bias.data))
    x = np.random.default_rng(1).normal(size=(2, 2, 5, 4))
    np.testing.assert_allclose(
        ours_layer(x).data, theirs_layer(torch.tensor(x)).detach().numpy(), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"padding": "full"}, "Invalid padding string 'full', should be one of"),
        ({"padding": "same", "stride": 2}, "padding='same' is not supported for strided"),
        ({"padding": "same", "stride": (1, 2)}, "padding='same' is not supported for strided"),
    ],
)
def test_bad_padding_words_are_refused_in_torchs_words(arguments, message):
    with pytest.raises(ValueError, match=message):
        torch.nn.Conv2d(1, 1, 3, **arguments)
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(1, 1, 3, **arguments)
    with pytest.raises(ValueError, match=message):
        F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), **arguments)


# ---------------------------------------------------------------------- pools' ceil_mode
POOL_CASES = list(
    itertools.product([(5, 5), (2, 5), (6, 7)], [2, 3, (3, 2)], [None, 2, (2, 3)], [0, 1])
)


def _pool_fits(size, kernel, padding, dilation=1):
    kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
    return all(
        padding <= k // 2 and (k - 1) * dilation + 1 <= n + 2 * padding
        for n, k in zip(size, kernel)
    )


@pytest.mark.parametrize(("size", "kernel", "stride", "padding"), POOL_CASES)
def test_max_pool2d_ceil_mode_is_torchs(size, kernel, stride, padding):
    if not _pool_fits(size, kernel, padding):
        return
    x = np.random.default_rng(2).normal(size=(2, 2, *size))
    _same_derivatives(
        lambda x: F.max_pool2d(x, kernel, stride, padding, ceil_mode=True),
        lambda x: TF.max_pool2d(x, kernel, stride, padding, ceil_mode=True),
        [x],
        "max_pool2d ceil_mode",
    )


@pytest.mark.parametrize(("size", "kernel", "stride", "padding"), POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_ceil_mode_is_torchs(size, kernel, stride, padding, count_include_pad):
    """The last, partial window divides by its cells in the image (and, counting padding,
    in the padding), not by the kernel's size, as torch's."""
    if not _pool_fits(size, kernel, padding):
        return
    x = np.random.default_rng(3).normal(size=(2, 2, *size))
    _same_derivatives(
        lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad, ceil_mode=True),
        lambda x: TF.avg_pool2d(
            x, kernel, stride, padding, ceil_mode=True, count_include_pad=count_include_pad
        ),
        [x],
        "avg_pool2d ceil_mode",
    )


def test_ceil_mode_rounds_up_where_floor_would_drop_the_edge():
    """A 5 x 5 image in windows of 2: floor drops the last row and column, ceil keeps them."""
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    assert F.max_pool2d(x, 2).shape == (1, 1, 2, 2)
    got = F.max_pool2d(x, 2, ceil_mode=True).data
    np.testing.assert_array_equal(got, [[[[6, 8, 9], [16, 18, 19], [21, 23, 24]]]])
    np.testing.assert_array_equal(
        F.avg_pool2d(x, 2, ceil_mode=True).data[0, 0, 2], [20.5, 22.5, 24]
    )


def test_max_pool2d_ceil_mode_with_dilation_is_torchs():
    x = np.random.default_rng(4).normal(size=(1, 2, 7, 6))
    _same_derivatives(
        lambda x: F.max_pool2d(x, 2, 2, 1, 2, ceil_mode=True),
        lambda x: TF.max_pool2d(x, 2, 2, 1, 2, ceil_mode=True),
        [x],
        "max_pool2d ceil_mode dilation",
    )


@pytest.mark.parametrize("layer", ["MaxPool2d", "AvgPool2d"])
def test_pool_layers_take_ceil_mode_keyword_only(layer):
    x = np.random.default_rng(5).normal(size=(2, 3, 5, 5))
    ours_layer = getattr(nn, layer)(2, ceil_mode=True)
    theirs_layer = getattr(torch.nn, layer)(2, ceil_mode=True)
    np.testing.assert_allclose(
        ours_layer(x).data, theirs_layer(torch.tensor(x)).numpy(), rtol=1e-14
    )
    with pytest.raises(TypeError):
        getattr(nn, layer)(2, 2, 0, 1, True)


# ---------------------------------------------------------------------- one unbatched image
@pytest.mark.parametrize(
    ("ours_fn", "torch_fn"),
    [
        (
            lambda x, w: F.conv2d(x, w, padding=1, stride=(1, 2)),
            lambda x, w: TF.conv2d(x, w, padding=1, stride=(1, 2)),
        ),
        (
            lambda x, w: F.max_pool2d(x * w.sum(), 2, 1, 1),
            lambda x, w: TF.max_pool2d(x * w.sum(), 2, 1, 1),
        ),
        (
            lambda x, w: F.avg_pool2d(x * w.sum(), 3, 2, 1, False),
            lambda x, w: TF.avg_pool2d(x * w.sum(), 3, 2, 1, count_include_pad=False),
        ),
    ],
    ids=["conv2d", "max_pool2d", "avg_pool2d"],
)
def test_one_unbatched_image_is_torchs(ours_fn, torch_fn):
    """(C, H, W) in, (C_out, H', W') out, as torch's; derivatives through it."""
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(2, 5, 4)), rng.normal(size=(3, 2, 3, 3))
    _same_derivatives(ours_fn, torch_fn, [x, w], "unbatched")
    assert ours_fn(Tensor(x), Tensor(w)).ndim == 3


@pytest.mark.parametrize("shape", [(4, 4), (1, 1, 1, 4, 4)])
def test_other_ranks_are_refused_naming_both_forms(shape):
    for call in (
        lambda: F.conv2d(np.ones(shape), np.ones((1, 1, 2, 2))),
        lambda: F.max_pool2d(np.ones(shape), 2),
        lambda: F.avg_pool2d(np.ones(shape), 2),
    ):
        with pytest.raises(
            ValueError, match=r"\(N, C, H, W\), 4-D, or one unbatched image \(C, H, W\)"
        ):
            call()


def test_conv2d_layer_takes_one_unbatched_image():
    layer = nn.Conv2d(2, 3, 3, padding="same", seed=0)
    x = np.random.default_rng(7).normal(size=(2, 4, 5))
    np.testing.assert_allclose(layer(x).data, layer(x[None]).data[0], rtol=0, atol=0)


# ---------------------------------------------------------------------- Embedding padding_idx
@pytest.mark.parametrize("padding_idx", [0, 2, -1])
def test_embedding_padding_idx_is_torchs(padding_idx):
    """The padding row starts as zeros, keeps a value set into it, and gets no gradient,
    first or second order, as torch's."""
    ours_layer = nn.Embedding(4, 3, padding_idx, seed=0)
    theirs_layer = torch.nn.Embedding(4, 3, padding_idx).double()
    assert ours_layer.padding_idx == theirs_layer.padding_idx
    np.testing.assert_array_equal(ours_layer.weight.data[padding_idx], 0.0)
    np.testing.assert_array_equal(theirs_layer.weight.detach().numpy()[padding_idx], 0.0)
    ours_layer.weight.data[padding_idx] = [1.0, -2.0, 3.0]  # set by hand: still read
    with torch.no_grad():
        theirs_layer.weight.copy_(torch.tensor(ours_layer.weight.data))
    indices = np.array([[0, 1, 2], [3, 3, 0], [2, 1, 3]])
    out, theirs_out = ours_layer(indices), theirs_layer(torch.tensor(indices))
    np.testing.assert_array_equal(out.data, theirs_out.detach().numpy())
    seed = np.random.default_rng(8).normal(size=out.shape)
    (g,) = grad((out**3 * seed).sum(), [ours_layer.weight], create_graph=True)
    (tg,) = torch.autograd.grad(
        (theirs_out**3 * torch.tensor(seed)).sum(), [theirs_layer.weight], create_graph=True
    )
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-13)
    np.testing.assert_array_equal(g.data[padding_idx], 0.0)
    (gg,) = grad((g**2).sum(), [ours_layer.weight])
    (tgg,) = torch.autograd.grad((tg**2).sum(), [theirs_layer.weight])
    np.testing.assert_allclose(gg.data, tgg.numpy(), rtol=1e-13)


@pytest.mark.parametrize("padding_idx", [4, -5, 1.0, True])
def test_embedding_padding_idx_out_of_range_is_refused(padding_idx):
    with pytest.raises(ValueError, match=r"padding_idx must be an int in \[-4, 4\)"):
        nn.Embedding(4, 3, padding_idx)


# ---------------------------------------------------------------------- BatchNorm
@pytest.mark.parametrize(
    ("cls", "shape"),
    [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 2)), ("BatchNorm2d", (3, 3, 2, 2))],
)
def test_batchnorm_without_running_stats_is_torchs_in_train_and_eval(cls, shape):
    """No buffers (None, as torch's), the batch's statistics in eval mode too."""
    ours_layer = getattr(nn, cls)(3, momentum=0.3, track_running_stats=False)
    theirs_layer = getattr(torch.nn, cls)(3, momentum=0.3, track_running_stats=False).double()
    assert ours_layer.running_mean is None and ours_layer.running_var is None
    assert ours_layer.num_batches_tracked is None
    assert list(ours_layer.state_dict()) == list(theirs_layer.state_dict()) == ["weight", "bias"]
    rng = np.random.default_rng(9)
    for mode in ("train", "eval"):
        getattr(ours_layer, mode)(), getattr(theirs_layer, mode)()
        x = rng.normal(size=shape) * 2 + 1
        weights = {
            "weight": rng.normal(size=3),
            "bias": rng.normal(size=3),
        }
        ours_layer.load_state_dict(weights)
        theirs_layer.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})

        def ours_fn(x, w, b):
            ours_layer.weight, ours_layer.bias = w, b
            return ours_layer(x)

        def torch_fn(x, w, b):
            return TF.batch_norm(x, None, None, w, b, training=True, eps=theirs_layer.eps)

        assert_same(
            theirs_layer(torch.tensor(x)).detach().numpy(),
            torch_fn(
                torch.tensor(x), torch.tensor(weights["weight"]), torch.tensor(weights["bias"])
            ).numpy(),
            "torch's own",
        )
        _same_derivatives(
            ours_fn, torch_fn, [x, weights["weight"], weights["bias"]], f"{cls} {mode}"
        )


def test_batchnorm_without_running_stats_refuses_one_value_per_channel_in_eval_too():
    for layer in (
        nn.BatchNorm1d(3, track_running_stats=False),
        torch.nn.BatchNorm1d(3, track_running_stats=False),
    ):
        layer.eval()
        with pytest.raises(
            ValueError, match="Expected more than 1 value per channel when training"
        ):
            layer(np.ones((1, 3)) if isinstance(layer, nn.Module) else torch.ones(1, 3))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_state_dicts_round_trip_with_torchs(momentum):
    """torch's state dict (num_batches_tracked an int64 0-d tensor) loads strictly into
    ours, ours into torch's, and the two then train alike: the count, and with
    momentum=None the cumulative average it weights, go on from the loaded value."""
    rng = np.random.default_rng(10)
    theirs_layer = torch.nn.BatchNorm1d(3, momentum=momentum).double()
    for _ in range(3):
        theirs_layer(torch.tensor(rng.normal(size=(6, 3))))
    ours_layer = nn.BatchNorm1d(3, momentum=momentum)
    ours_layer.load_state_dict({k: v.numpy() for k, v in theirs_layer.state_dict().items()})
    assert ours_layer.num_batches_tracked.item() == 3
    back = torch.nn.BatchNorm1d(3, momentum=momentum).double()
    back.load_state_dict({k: torch.tensor(v) for k, v in ours_layer.state_dict().items()})
    assert back.num_batches_tracked.item() == 3 and back.num_batches_tracked.dtype == torch.int64
    for _ in range(2):
        x = rng.normal(size=(6, 3)) + 2
        ours_layer(x), theirs_layer(torch.tensor(x)), back(torch.tensor(x))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        want = getattr(theirs_layer, name).numpy()
        np.testing.assert_allclose(getattr(ours_layer, name).data, want, rtol=1e-13)
        np.testing.assert_allclose(getattr(back, name).numpy(), want, rtol=1e-13)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("strict", [True, False])
def test_batchnorm_state_without_the_count_loads_as_torchs(momentum, strict, tmp_path):
    """A state saved before the count was kept (numeric momentum) lacks it: it loads, by
    load_state_dict and from a file by nn.load, strictly or not, with no key reported
    missing, and leaves the layer's own count as it is, as torch's load_state_dict does
    with a dict without it; the statistics are the state's."""
    rng = np.random.default_rng(3)
    source = nn.BatchNorm1d(3, momentum=momentum)
    source(rng.normal(size=(5, 3)))
    state = {k: v for k, v in source.state_dict().items() if k != "num_batches_tracked"}
    theirs_layer = torch.nn.BatchNorm1d(3, momentum=momentum).double()
    theirs_layer.num_batches_tracked += 4
    result = theirs_layer.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict)
    assert result.missing_keys == []
    for load in ("dict", "file"):
        layer = nn.BatchNorm1d(3, momentum=momentum)
        layer.num_batches_tracked.data[...] = 4.0
        if load == "dict":
            assert layer.load_state_dict(state, strict=strict).missing_keys == []
        else:
            path = tmp_path / f"old_{strict}.npz"
            checkpoint.write(path, state)
            nn.load(layer, path)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            want = getattr(theirs_layer, name).numpy()
            np.testing.assert_array_equal(getattr(layer, name).data, want, err_msg=name)


def test_batchnorm_state_without_the_statistics_is_refused_naming_them():
    """Only the count may be left out: a state without a running statistic is refused
    strictly, naming it, and reported by strict=False."""
    layer = nn.BatchNorm1d(3)
    state = {k: v for k, v in layer.state_dict().items() if k != "running_var"}
    with pytest.raises(ValueError, match="missing: 'running_var'"):
        layer.load_state_dict(state)
    assert layer.load_state_dict(state, strict=False).missing_keys == ["running_var"]


@pytest.mark.parametrize(
    ("cls", "shape"),
    [
        ("BatchNorm1d", (0, 3)),
        ("BatchNorm1d", (0, 3, 4)),
        ("BatchNorm1d", (2, 3, 0)),
        ("BatchNorm2d", (0, 3, 2, 2)),
        ("BatchNorm2d", (1, 3, 0, 2)),
    ],
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_of_no_values_per_channel_is_torchs(cls, shape, momentum):
    """Training on a batch with no values per channel (N = 0, or an empty length): an
    empty output, zero gradients for weight and bias, the running statistics unchanged and
    the batch counted, as torch 2.13 does (so momentum=None's next batch weighs 1/2)."""
    ours_layer = getattr(nn, cls)(3, momentum=momentum)
    theirs_layer = getattr(torch.nn, cls)(3, momentum=momentum).double()
    rng = np.random.default_rng(11)
    for batch in (rng.normal(size=(4, *shape[1:2], *[n or 2 for n in shape[2:]])), np.ones(shape)):
        x, tx = Tensor(batch, requires_grad=True), torch.tensor(batch, requires_grad=True)
        out, theirs_out = ours_layer(x), theirs_layer(tx)
        assert out.shape == tuple(theirs_out.shape)
        np.testing.assert_allclose(out.data, theirs_out.detach().numpy(), rtol=1e-12, atol=1e-12)
        params = [x, ours_layer.weight, ours_layer.bias]
        gradients = grad((out * 2.0).sum(), params, allow_unused=True)
        torch_params = [tx, theirs_layer.weight, theirs_layer.bias]
        torch_gradients = torch.autograd.grad((theirs_out * 2.0).sum(), torch_params)
        for g, tg in zip(gradients, torch_gradients, strict=True):
            np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-12, atol=1e-12)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            want = getattr(theirs_layer, name).numpy()
            np.testing.assert_allclose(getattr(ours_layer, name).data, want, rtol=1e-13)
    ours_layer.eval(), theirs_layer.eval()
    assert ours_layer(np.ones(shape)).shape == tuple(
        theirs_layer(torch.ones(shape, dtype=torch.float64)).shape
    )


def test_batchnorm_of_one_value_per_channel_is_refused_as_torchs():
    for layer in (nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)):
        x = np.ones((1, 3)) if isinstance(layer, nn.Module) else torch.ones(1, 3)
        with pytest.raises(
            ValueError, match="Expected more than 1 value per channel when training"
        ):
            layer(x)


# ---------------------------------------------------------------------- Softplus
@pytest.mark.parametrize(
    ("beta", "threshold"), [(1.0, 20.0), (2.0, 20.0), (0.5, 3.0), (-1.5, 2.0), (3.0, -1.0)]
)
def test_softplus_beta_and_threshold_are_torchs(beta, threshold):
    """Across the threshold (beta x on both sides of it): values, d/dx (sigmoid(beta x)
    below, 1 above) and d2/dx2 (beta s (1 - s) below, 0 above)."""
    x = np.concatenate([np.linspace(-30, 30, 41), [threshold / beta + d for d in (-1e-3, 1e-3)]])
    x = x[x * beta != threshold]  # at beta x = threshold itself, see the test below
    _same_derivatives(
        lambda x: F.softplus(x, beta, threshold),
        lambda x: TF.softplus(x, beta, threshold),
        [x],
        f"softplus beta={beta} threshold={threshold}",
    )
    module = nn.Softplus(beta=beta, threshold=threshold)
    torch_module = torch.nn.Softplus(beta=beta, threshold=threshold)
    np.testing.assert_allclose(module(x).data, torch_module(torch.tensor(x)).numpy(), rtol=1e-14)


def test_softplus_without_threshold_is_the_formula_everywhere():
    x = np.array([-40.0, 0.0, 25.0, 40.0])
    np.testing.assert_allclose(
        F.softplus(x, beta=2.0).data, np.logaddexp(0.0, 2.0 * x) / 2.0, rtol=1e-15
    )
    assert nn.Softplus()(x).data[2] != 25.0  # torch's default threshold 20 answers 25


@pytest.mark.parametrize(
    ("beta", "threshold", "message"),
    [
        (0.0, 20.0, "beta must be a finite number other than 0"),
        (np.inf, 20.0, "beta must be a finite"),
        (1.0, "20", "threshold must be a finite number"),
    ],
)
def test_bad_softplus_options_are_refused(beta, threshold, message):
    with pytest.raises(ValueError, match=message):
        nn.Softplus(beta, threshold)
    with pytest.raises(ValueError, match=message):
        F.softplus(np.ones(2), beta, threshold)


# ---------------------------------------------------------------------- options left out
@pytest.mark.parametrize(
    ("make", "option", "advice"),
    [
        (lambda: nn.Conv2d(1, 1, 3, padding_mode="reflect"), "padding_mode", r"F.pad\(x"),
        (lambda: nn.MaxPool2d(2, return_indices=True), "return_indices", "values alone"),
        (
            lambda: nn.AvgPool2d(2, divisor_override=3),
            "divisor_override",
            r"\(kh \* kw / divisor\)",
        ),
        (lambda: nn.Embedding(3, 2, max_norm=1.0), "max_norm", "never renormalises"),
        (lambda: nn.Embedding(3, 2, norm_type=1.0), "norm_type", "never renormalises"),
        (lambda: nn.Embedding(3, 2, scale_grad_by_freq=True), "scale_grad_by_freq", "unscaled"),
        (lambda: nn.Embedding(3, 2, sparse=True), "sparse", "dense"),
        (lambda: nn.Embedding(3, 2, _weight=np.ones((3, 2))), "_weight", r"weight.data\[...\]"),
        (lambda: nn.Embedding(3, 2, _freeze=True), "_freeze", r"requires_grad_\(False\)"),
    ],
)
def test_torch_options_left_out_are_refused_naming_what_to_write(make, option, advice):
    with pytest.raises(TypeError, match=f"takes no {option}= \\(PyTorch's option\\): .*{advice}"):
        make()


def test_softplus_second_derivative_at_the_threshold_is_the_formulas():
    """At beta x = threshold the value and d/dx are the formula's in both (torch switches
    to x above it only); d2/dx2 there is the formula's beta s (1 - s) here, the side d/dx
    comes from, where torch's double backward switches at x < threshold and answers 0."""
    beta, threshold = 0.5, 3.0
    x = np.array([threshold / beta])
    (value, (first,), (second,)) = ours(lambda t: F.softplus(t, beta, threshold), [x])
    _, (torch_first,), (torch_second,) = theirs(lambda t: TF.softplus(t, beta, threshold), [x])
    s = 1.0 / (1.0 + np.exp(-threshold))
    np.testing.assert_allclose(value, np.log1p(np.exp(threshold)) / beta, rtol=1e-15)
    np.testing.assert_allclose(first, torch_first, rtol=1e-15)
    np.testing.assert_allclose(second, beta * s * (1 - s), rtol=1e-14)
    assert torch_second[0] == 0.0


# ---------------------------------------------------------------------- captured steps
def _trajectory(replayed: bool, steps: int = 6):
    """SGD on images through Conv2d('same'), both pools with ceil_mode and Softplus with a
    threshold, plus an Embedding with a padding row; new data each step, so every mask
    (the pools' maxima, the threshold, the indices) must be found afresh at each replay."""
    rng = np.random.RandomState(12)
    images = Tensor(rng.randn(3, 2, 5, 5))
    indices = Tensor(rng.randint(0, 4, size=(3, 2)).astype(float))
    conv = nn.Conv2d(2, 3, (2, 3), padding="same", seed=0)
    embedding = nn.Embedding(4, 2, padding_idx=1, seed=1)
    head = nn.Linear(3 * 3 * 3 + 2 * 3 * 3 + 2 * 2, 2, seed=2)
    softplus = nn.Softplus(beta=2.0, threshold=1.0)
    params = [*conv.parameters(), *embedding.parameters(), *head.parameters()]

    def loss():
        features = softplus(conv(images))
        pooled = F.max_pool2d(features, 2, ceil_mode=True).flatten(1)
        averaged = F.avg_pool2d(features[:, :2], 3, 2, 1, False, ceil_mode=True).flatten(1)
        embedded = embedding(indices).flatten(1)
        joined = F.concatenate([pooled, averaged, embedded], axis=1)
        return (head(joined) ** 2).sum()

    graph = capture(loss) if replayed else None
    history = []
    for _ in range(steps):
        images.data[...] = rng.randn(*images.shape) * 2
        indices.data[...] = rng.randint(0, 4, size=indices.shape)
        if replayed:
            value = graph.replay()
        else:
            value = loss()
            value.backward()
        history.append((value.item(), [p.grad.copy() for p in params]))
        for p in params:
            p.data -= 0.01 * p.grad
            p.grad = None
    return history, [p.data.copy() for p in params]


def test_a_captured_step_with_the_new_options_replays_as_eager_bit_for_bit():
    eager, eager_params = _trajectory(replayed=False)
    replayed, replayed_params = _trajectory(replayed=True)
    for (loss_e, grads_e), (loss_r, grads_r) in zip(eager, replayed, strict=True):
        assert loss_e == loss_r
        for a, b in zip(grads_e, grads_r, strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(eager_params, replayed_params, strict=True):
        np.testing.assert_array_equal(a, b)
    assert eager[0][1][2][1].tolist() == [0.0, 0.0]  # the padding row: no gradient
