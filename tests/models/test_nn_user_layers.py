"""Layers a user writes from the ops alone, no Function of their own: LayerNorm, a residual
block, an attention head and polynomial features, each gradchecked and compared with the
same layer written in PyTorch; and the Conv2d Function of docs/extending.md against torch."""

import re
from pathlib import Path

import numpy as np
import torch

import tinygrad_moons.functional as F
from tinygrad_moons import Function, Tensor, gradcheck, nn

rng = np.random.default_rng(0)


def parameter(*shape):
    return Tensor(rng.normal(size=shape) / np.sqrt(shape[0]), requires_grad=True)


class LayerNorm(nn.Module):
    """(x - mean) / sqrt(var + eps) * gamma + beta over the last axis."""

    def __init__(self, features, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.gamma = Tensor(1.0 + 0.1 * rng.normal(size=features), requires_grad=True)
        self.beta = Tensor(0.1 * rng.normal(size=features), requires_grad=True)

    def forward(self, x):
        centred = x - x.mean(axis=-1, keepdims=True)
        return centred / (x.var(axis=-1, keepdims=True) + self.eps).sqrt() * self.gamma + self.beta


class Residual(nn.Module):
    """x + W2 relu(norm(x) W1 + b1) + b2: a pre-norm residual block."""

    def __init__(self, width, hidden):
        super().__init__()
        self.norm = LayerNorm(width)
        self.up = nn.Linear(width, hidden, seed=1)
        self.down = nn.Linear(hidden, width, seed=2)

    def forward(self, x):
        return x + self.down(F.relu(self.up(self.norm(x))))


class Head(nn.Module):
    """One head of scaled dot-product self-attention over (batch, time, width):
    softmax(q k^T / sqrt(d)) v with q, k, v = x Wq, x Wk, x Wv."""

    def __init__(self, width, head_width):
        super().__init__()
        self.query = parameter(width, head_width)
        self.key = parameter(width, head_width)
        self.value = parameter(width, head_width)

    def forward(self, x):
        q, k, v = x @ self.query, x @ self.key, x @ self.value
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(self.query.shape[1])
        return F.softmax(scores, axis=-1) @ v


class AttentionHeads(nn.Module):
    """Heads side by side, concatenated along the features and projected back."""

    def __init__(self, width, head_width, heads=2):
        super().__init__()
        self.heads = nn.Sequential(*[Head(width, head_width) for _ in range(heads)])
        self.out = parameter(heads * head_width, width)

    def forward(self, x):
        return F.concatenate([head(x) for head in self.heads], axis=-1) @ self.out


class PolynomialFeatures(nn.Module):
    """sum_j w_ij x_i^j for powers j = 0..degree of every input, then a linear map."""

    def __init__(self, features, degree, outputs):
        super().__init__()
        self.powers = np.arange(degree + 1.0)
        self.weight = parameter(features * (degree + 1), outputs)

    def forward(self, x):
        expanded = x.expand_dims(-1) ** self.powers  # (N, features, degree + 1)
        return expanded.reshape(x.shape[0], -1) @ self.weight


def torch_twin(tensors):
    return [torch.tensor(t.data, requires_grad=True) for t in tensors]


def agree_with_torch(layer, x, torch_forward):
    """The layer's output and every gradient match torch_forward on copies of the data."""
    params = layer.parameters()
    twins = torch_twin([x, *params])
    out = layer(x)
    expected = torch_forward(*twins)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    seed = rng.normal(size=out.shape)
    out.backward(seed)
    expected.backward(torch.tensor(seed))
    for mine, twin in zip([x, *params], twins):
        np.testing.assert_allclose(mine.grad, twin.grad.numpy(), rtol=1e-10, atol=1e-12)
        mine.grad = None


def check_layer(layer, x):
    assert gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


def test_layer_norm_matches_torch_and_passes_gradcheck():
    layer = LayerNorm(5)
    x = Tensor(rng.normal(size=(4, 5)), requires_grad=True)
    agree_with_torch(
        layer, x, lambda x, g, b: torch.nn.functional.layer_norm(x, (5,), g, b, eps=1e-5)
    )
    check_layer(layer, x)


def test_residual_block_matches_torch_and_passes_gradcheck():
    block = Residual(4, 6)
    x = Tensor(rng.normal(size=(3, 4)), requires_grad=True)

    def torch_block(x, g, b, w1, b1, w2, b2):
        normed = torch.nn.functional.layer_norm(x, (4,), g, b, eps=1e-5)
        return x + torch.relu(normed @ w1 + b1) @ w2 + b2

    agree_with_torch(block, x, torch_block)
    check_layer(block, x)


def test_attention_head_matches_torch_and_passes_gradcheck():
    attention = AttentionHeads(width=4, head_width=3)
    x = Tensor(rng.normal(size=(2, 5, 4)), requires_grad=True)
    assert len(attention.parameters()) == 7

    def torch_attention(x, *weights):
        heads = []
        for wq, wk, wv in (weights[0:3], weights[3:6]):
            q, k, v = x @ wq, x @ wk, x @ wv
            scores = q @ k.transpose(1, 2) / np.sqrt(3)
            heads.append(torch.softmax(scores, dim=-1) @ v)
        return torch.cat(heads, dim=-1) @ weights[6]

    agree_with_torch(attention, x, torch_attention)
    check_layer(attention, x)


def test_polynomial_features_match_torch_and_pass_gradcheck_even_at_zero():
    layer = PolynomialFeatures(features=2, degree=3, outputs=2)
    x = Tensor(rng.normal(size=(4, 2)), requires_grad=True)
    x.data[0, 0] = 0.0  # x^0 at x = 0: slope 0, not NaN

    def torch_polynomial(x, w):
        return (x.unsqueeze(-1) ** torch.tensor(layer.powers)).reshape(4, -1) @ w

    agree_with_torch(layer, x, torch_polynomial)
    check_layer(layer, x)


def docs_namespace(marker):
    """Run the code block of docs/extending.md that contains ``marker``; its names."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "extending.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", page, re.S) if marker in b]
    namespace = {"np": np, "Function": Function, "Tensor": Tensor, "nn": nn}
    namespace["gradcheck"] = gradcheck
    exec(block, namespace)
    return namespace


def test_the_docs_conv2d_function_matches_torch_conv2d():
    conv = docs_namespace("class Conv2dFunction")["Conv2d"](3, 2, 2, seed=1)
    conv.bias.data[:] = [0.5, -0.5]
    x = Tensor(rng.normal(size=(2, 3, 4, 5)), requires_grad=True)
    agree_with_torch(conv, x, torch.nn.functional.conv2d)
