"""Convolution and pooling over NCHW images, with torch's semantics: ``conv2d``,
``max_pool2d``, ``avg_pool2d``. Each is built on ``ops.Unfold`` (the windows of an image as
one strided view, im2col; its backward is ``ops.Fold``, and Fold's is Unfold) and einsum or
indexing, so there is no Python loop over pixels and every one is differentiable to any
order. ``functional`` re-exports them.

>>> import numpy as np
>>> from tinygrad_moons import Tensor
>>> x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
>>> conv2d(x, Tensor(np.ones((1, 1, 2, 2))), stride=2).data[0, 0]
array([[10., 18.],
       [42., 50.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_moons import ops
from tinygrad_moons.elementwise import as_tensor
from tinygrad_moons.products import einsum
from tinygrad_moons.tensor import Tensor, derived
from tinygrad_moons.validate import flag, is_int, padding_word

Pair = tuple[int, int]
Sides = tuple[Pair, Pair]  # the padding (top, bottom), (left, right)


def _pair(value: Any, name: str, minimum: int) -> Pair:
    """An int or a pair of ints, as a pair, each at least ``minimum`` (torch's forms)."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(is_int(v) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _images(x: Any, what: str) -> tuple[Tensor, bool]:
    """x as a batch of images (N, C, H, W), and whether it came as one unbatched image
    (C, H, W), which torch takes too (its result then drops the batch axis again)."""
    x = as_tensor(x)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{what} takes images (N, C, H, W), 4-D, or one unbatched image (C, H, W), 3-D; "
            f"got shape {x.shape}"
        )
    return (x, False) if x.ndim == 4 else (x.reshape(1, *x.shape), True)


def _unbatched(out: Tensor, unbatched: bool) -> Tensor:
    """``out`` without the batch axis ``_images`` added to an unbatched image."""
    return out.reshape(out.shape[1:]) if unbatched else out


def _symmetric(padding: Pair) -> Sides:
    return (padding[0], padding[0]), (padding[1], padding[1])


def _windows(
    x: Tensor, kernel: Pair, stride: Pair, sides: Sides, dilation: Pair, fill: float, what: str
) -> Tensor:
    """x padded with ``fill`` (``sides``: (top, bottom), (left, right)) and cut into its
    windows, (N, C, OH, OW, kh, kw), checked."""
    height, width = x.shape[2] + sum(sides[0]), x.shape[3] + sum(sides[1])
    span = ((kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1)
    if span[0] > height or span[1] > width:
        if what != "conv2d":  # torch's words for pools
            c = x.shape[1]
            sizes = [(n - k) // s + 1 for n, k, s in zip((height, width), span, stride)]
            raise ValueError(
                f"{what}: Given input size: ({c}x{x.shape[2]}x{x.shape[3]}). Calculated output "
                f"size: ({c}x{sizes[0]}x{sizes[1]}). Output size is too small"
            )
        raise ValueError(
            f"{what}: calculated padded input size per channel: ({height} x {width}). Kernel "
            f"size: ({span[0]} x {span[1]}). Kernel size can't be greater than actual input size"
        )
    if sides != ((0, 0), (0, 0)):
        x = ops.Pad.apply(x, [(0, 0), (0, 0), *sides], fill)
    return ops.Unfold.apply(x, kernel, stride, dilation)


def _same_sides(kernel: Pair, dilation: Pair) -> Sides:
    """padding='same', as torch's: dilation (k - 1) zeros in all, the odd one at the end."""
    rows, cols = (d * (k - 1) for k, d in zip(kernel, dilation))
    return (rows // 2, rows - rows // 2), (cols // 2, cols - cols // 2)


def _pool_sides(
    shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair, ceil: bool
) -> Sides:
    """The pool's padding on each side: ``padding`` on both, and with ``ceil_mode`` the
    extra cells (never read as image or padding) that torch's last, partial window reaches
    past the bottom or right. Its rule: rounding up, a window must start inside the image
    or its left padding."""
    sides = []
    for size, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        count = (size + 2 * p - span + (s - 1 if ceil else 0)) // s + 1
        if ceil and (count - 1) * s >= size + p:
            count -= 1
        sides.append((p, p + max(0, (count - 1) * s + span - (size + 2 * p))))
    return sides[0], sides[1]


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """torch's conv2d (a cross-correlation): x (N, C, H, W) or one image (C, H, W), weight
    (O, C / groups, kh, kw), bias (O,) or None; ``stride`` and ``dilation`` an int or a
    pair, ``padding`` (zeros) too or torch's 'valid' (none) or 'same' (stride 1: dh (kh - 1)
    zeros in all, the odd one at the bottom). Out (N, O, OH, OW), or (O, OH, OW) for one
    image, with OH = (H + 2 ph - dh (kh - 1) - 1) // sh + 1.

    >>> conv2d(Tensor(np.ones((1, 2, 3, 3))), Tensor(np.ones((4, 2, 3, 3))), padding=1).shape
    (1, 4, 3, 3)
    """
    (x, unbatched), weight = _images(x, "conv2d"), as_tensor(weight)
    stride, dilation = _pair(stride, "stride", 1), _pair(dilation, "dilation", 1)
    if isinstance(padding, str):
        padding = padding_word(padding, stride)
    if not is_int(groups) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    if weight.ndim != 4:
        raise ValueError(f"conv2d's weight must be (O, C / groups, kh, kw), got {weight.shape}")
    out_channels, in_per_group, kh, kw = weight.shape
    if x.shape[1] != in_per_group * groups or out_channels % groups:
        raise ValueError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {in_per_group * groups} channels, but got "
            f"{x.shape[1]} channels instead (and out channels divisible by groups)"
        )
    if padding == "same":
        sides = _same_sides((kh, kw), dilation)
    else:
        sides = _symmetric((0, 0) if padding == "valid" else _pair(padding, "padding", 0))
    cols = _windows(x, (kh, kw), stride, sides, dilation, 0.0, "conv2d")
    n, _, oh, ow = cols.shape[:4]
    if groups == 1:
        out = einsum("ncyxij,ocij->noyx", cols, weight)
    else:
        cols = cols.reshape(n, groups, in_per_group, oh, ow, kh, kw)
        kernels = weight.reshape(groups, out_channels // groups, in_per_group, kh, kw)
        out = einsum("ngcyxij,gocij->ngoyx", cols, kernels).reshape(n, out_channels, oh, ow)
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (out_channels,):
            raise ValueError(f"conv2d's bias must have shape ({out_channels},), got {bias.shape}")
        out = out + bias.reshape(1, out_channels, 1, 1)
    return _unbatched(out, unbatched)


def _pool_arguments(kernel_size: Any, stride: Any, padding: Any) -> tuple[Pair, Pair, Pair]:
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)
    padding = _pair(padding, "padding", 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(
            f"pad should be at most half of effective kernel size, but got pad={padding} "
            f"and kernel_size={kernel}"
        )
    return kernel, stride, padding


def max_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    *,
    ceil_mode: bool = False,
) -> Tensor:
    """torch's max_pool2d of (N, C, H, W) images or one (C, H, W): the maximum of each
    window (stride defaults to the kernel size; padding counts as -inf, and a window that
    dilation places on padding alone is -inf). ``ceil_mode`` rounds the output size up, as
    torch's: a last, partial window, started inside the image or its left padding. As
    torch's, each window's gradient goes to its first maximum."""
    x, unbatched = _images(x, "max_pool2d")
    kernel, stride, padding = _pool_arguments(kernel_size, stride, padding)
    dilation = _pair(dilation, "dilation", 1)
    sides = _pool_sides(x.shape, kernel, stride, padding, dilation, flag("ceil_mode", ceil_mode))
    windows = _windows(x.detach(), kernel, stride, sides, dilation, -np.inf, "max_pool2d")
    n, c, oh, ow, kh, kw = windows.shape
    inside = None
    if sides != _symmetric((0, 0)):  # where each window sees x: a constant of the shapes
        ones = Tensor._wrap(np.ones((1, 1, *x.shape[2:])))
        inside = _windows(ones, kernel, stride, sides, dilation, 0.0, "max_pool2d").data > 0
    # derived: a captured step finds each window's maximum afresh at every replay
    first = derived(_first_maxima, windows, inside)
    rows = np.arange(oh)[:, None] * stride[0] + (first // kw) * dilation[0] - padding[0]
    cols = np.arange(ow)[None, :] * stride[1] + (first % kw) * dilation[1] - padding[1]
    images = np.arange(n)[:, None, None, None]
    channels = np.arange(c)[None, :, None, None]
    pooled = x[images, channels, rows, cols]
    if inside is not None:
        # dilation can step over the image: a window of padding alone is -inf, as torch's,
        # through no element of x (its first cell's index would wrap round to the far edge)
        empty = ~inside.any(axis=(4, 5))
        if empty.any():
            pooled = ops.Where.apply(empty, Tensor._wrap(np.array(-np.inf)), pooled)
    return _unbatched(pooled, unbatched)


def _first_maxima(windows: np.ndarray, inside: np.ndarray | None) -> np.ndarray:
    """Where in each window (N, C, OH, OW, kh, kw) its first maximum sits, 0 to kh kw - 1
    (its first NaN if it has one). With padding, the first maximum ``inside`` x, as torch's:
    where x's values there are all -inf, a padding cell ties with them but is no element
    of x (its index would wrap round to the far edge)."""
    cells = windows.shape[4] * windows.shape[5]  # not -1: a batch of N = 0 has no elements
    flat = windows.reshape(*windows.shape[:4], cells)
    if inside is None:
        return np.argmax(flat, axis=-1)
    with np.errstate(invalid="ignore"):
        top = flat == np.max(flat, axis=-1, keepdims=True)
    return np.argmax((top | np.isnan(flat)) & inside.reshape(*inside.shape[:4], cells), axis=-1)


def avg_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    count_include_pad: bool = True,
    *,
    ceil_mode: bool = False,
) -> Tensor:
    """torch's avg_pool2d of (N, C, H, W) images or one (C, H, W): the mean of each window
    (stride defaults to the kernel size); zero padding counts in the mean unless
    ``count_include_pad=False``. ``ceil_mode`` rounds the output size up, as torch's: a
    last, partial window, averaged over its cells in the image and padding alone."""
    count_include_pad = flag("avg_pool2d's count_include_pad", count_include_pad)
    x, unbatched = _images(x, "avg_pool2d")
    kernel, stride, padding = _pool_arguments(kernel_size, stride, padding)
    sides = _pool_sides(x.shape, kernel, stride, padding, (1, 1), flag("ceil_mode", ceil_mode))
    windows = _windows(x, kernel, stride, sides, (1, 1), 0.0, "avg_pool2d")
    if sides == _symmetric((0, 0)) or (count_include_pad and sides == _symmetric(padding)):
        return _unbatched(windows.mean(axis=(-2, -1)), unbatched)
    # the cells each window divides by: x's, with count_include_pad its padding's too
    widths = ((0, 0), (0, 0), *_symmetric(padding))
    counted = np.pad(np.ones((1, 1, *x.shape[2:])), widths, constant_values=count_include_pad)
    extra = tuple((0, end - start) for start, end in sides)
    cells = _windows(Tensor._wrap(counted), kernel, stride, extra, (1, 1), 0.0, "avg_pool2d")
    return _unbatched(windows.sum(axis=(-2, -1)) / cells.data.sum(axis=(-2, -1)), unbatched)
