"""Second derivatives through whole models, as users take them, against PyTorch float64.

The models are nn's layers stacked (Linear and every activation, LayerNorm, BatchNorm1d
and BatchNorm2d in train mode, whose batch statistics depend on the input, and in eval
mode, Conv2d with stride, padding, dilation and groups, MaxPool2d and AvgPool2d, Flatten,
Dropout with p = 0 in training and any p in eval, Embedding), built twice with the same
parameters by the module fuzzer's ``build_twins``. On each, with our ``grad`` and
torch.autograd.grad:

- a WGAN-GP gradient penalty, loss + lam (||d out / d x|| - 1)^2 per row, differentiated
  to every parameter and to the input (Embedding has no input gradient: the penalty is
  taken at its output, where users take it);
- input-gradient regularisation (double backprop), loss + ||d loss / d x||^2, to every
  parameter;
- a Hessian-vector product with respect to the parameters, by grad twice;

under each loss (softmax cross-entropy, mse, binary cross-entropy with logits, and
log_softmax and softmax contracted with a random array). Values, input gradients and the
results must agree to rtol 1e-10 (atol 1e-10 times the array's largest element or 1):
normalisation layers' gradients cancel and the two libraries round apart by up to a few
1e-12 of them. Further tests: the penalty through an interpolate of a generator's output
(a non-leaf input, the generator's parameters trained by it), ``.backward()`` of a
penalised loss accumulating into ``.grad`` twice, a gradient-norm penalty on the
parameters, a Jacobian-vector product by two vector-Jacobian products, curvature's Hessian
and eigenvalues of a model with BatchNorm in training, a Dropout mask replayed by the
double backward, third derivatives through LayerNorm and BatchNorm, and a user's Function
(differentiable once) refused by every second-order path with its name.

Documented differences, encoded: ``Linear.weight`` is (in, out), torch's transposed
(docs/api.md, "nn"); torch's Softplus is built with threshold=40 (its default 20 returns
x itself, 2e-9 short). Not a difference of ours: torch's fused layer_norm and batch_norm
(train mode) give wrong third derivatives (pytorch/pytorch#175754 and #186256: their
double backward treats the saved mean and inverse deviation as constants), 1e9 times
the tolerance off on the models here; third derivatives are compared with torch's
composition of the same formula from mean, var and sqrt, which agrees with ours to
3e-5 of the tolerance.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tests.engine.test_autograd import Cube
from tests.models.test_modules_against_torch_fuzz import build_twins, close, models, pairs
from tests.torch_twin import fuzz_settings
from tinygrad_moons import Tensor, curvature, grad, nn
from tinygrad_moons.autograd import hvp, jvp

RTOL = 1e-10
# Drawn models with normalisation layers can be ill-conditioned: after Linear(1, 3) and two
# LayerNorms over 3 features, an input moved by 1e-15 relative moves the penalty's
# gradient by 5e-11 relative, and the libraries' roundings land 2.8e-10 apart
NORM_RTOL = 1e-9
# ...and some are worse: after an Embedding of width 1, Linear(1, 3) and a LayerNorm, torch's
# own penalty gradient for the Linear's bias moves by 1.1e-9 when its parameters move by
# 1e-15 relative, and ours is 1.09e-9 from torch's. Such a model is checked to within what
# it is known to: SHAKE times the largest move of torch's result under that shake, on top
# of the tolerance (a planted bug is off by a part of the value, not by this).
SHAKE = 1e-15
SHAKE_MARGIN = 10.0
LOSSES = ["cross_entropy", "mse", "bce", "log_softmax", "softmax"]
T = torch.nn.functional


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """torch's batch_norm on a few numbers takes 40 ms with a pool of threads, 1 ms without."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------- the models
def linear(width, out, bias=True):
    return ("linear", width, out, bias)


def act(name, slope=None):
    return ("act", name, slope)


def conv(c, o, k, s=1, p=0, d=1, g=1, bias=True):
    return ("conv", c, o, k, s, p, d, g, bias)


def head(classes=3):
    return [("flatten",), ("lazy_linear", classes, True)]


STACKS = {
    "tanh": (("dense", 3), [linear(3, 5), act("tanh"), linear(5, 4), act("sigmoid"), linear(4, 3)]),
    "softplus_relu": (
        ("dense", 3),
        [linear(3, 5), act("softplus"), linear(5, 4), act("relu"), linear(4, 3, False)],
    ),
    "leaky_identity": (
        ("dense", 2),
        [linear(2, 5), act("leaky_relu", -0.5), linear(5, 4), act("identity"), linear(4, 3)],
    ),
    "layernorm": (
        ("dense", 3),
        [linear(3, 5), ("layernorm", 5, 1e-5, True), act("tanh"), linear(5, 3)],
    ),
    "layernorm_plain": (
        ("dense", 3),
        [linear(3, 5), ("layernorm", 5, 0.1, False), act("softplus"), linear(5, 3)],
    ),
    "batchnorm1d": (
        ("dense", 3),
        [linear(3, 5, False), ("batchnorm1d", 5, 1e-5, 0.1, True), act("tanh"), linear(5, 3)],
    ),
    "batchnorm1d_plain": (
        ("dense", 3),
        [linear(3, 4, False), ("batchnorm1d", 4, 0.5, None, False), act("sigmoid"), linear(4, 3)],
    ),
    "conv_stride_groups": (
        ("images", 2, 6),
        [conv(2, 4, 3, 2, 1, 1, 2), act("tanh"), *head()],
    ),
    "conv_batchnorm2d_maxpool": (
        ("images", 2, 6),
        [
            conv(2, 4, (2, 3), 1, (1, 0), bias=False),
            ("batchnorm2d", 4, 1e-3, 0.1, True),
            act("softplus"),
            ("max", 2, None, 1, 1),
            *head(),
        ],
    ),
    "conv_dilated_avgpool": (
        ("images", 2, 7),
        [conv(2, 2, 3, 1, 1, 2, 2), act("sigmoid"), ("avg", 3, 2, 1, False), *head()],
    ),
    "conv_relu_maxpool_dilated": (
        ("images", 1, 6),
        [conv(1, 2, 2, 1, 1), act("relu"), ("max", 3, 1, 1, 2), *head()],
    ),
    "conv_depthwise_batchnorm2d": (
        ("images", 4, 6),
        [
            conv(4, 4, 3, (1, 2), 1, 1, 4, bias=False),
            ("batchnorm2d", 4, 1e-5, None, False),
            act("tanh"),
            ("avg", 2, None, 0, True),
            *head(2),
        ],
    ),
    "embedding_layernorm": (
        ("indices", 5, 3),
        [("embedding", 5, 4), ("layernorm", 4, 1e-5, True), ("flatten",)]
        + [linear(12, 4), act("tanh"), linear(4, 3)],
    ),
}


def twins(input_spec, layers, seed, dropout=None):
    """Our model and torch's, the same parameters; the input. With ``dropout`` a number p,
    a Dropout of p after the first layer in each (p = 0 is the identity in training too,
    any p in eval). Both in training (build_twins leaves the layers before a lazy Linear in
    eval)."""
    ours, theirs, x = build_twins(input_spec, layers, np.random.RandomState(seed))
    ours.train()
    theirs.train()
    if dropout is not None:
        ours.insert(1, nn.Dropout(dropout, seed=0))
        theirs.insert(1, torch.nn.Dropout(dropout))
    return ours, theirs, x


def split(ours, theirs, x):
    """(our model after the input, torch's, a function of "ours" or "torch" making a fresh
    input): an Embedding's output stands for the input (indices have no gradient)."""
    if isinstance(ours[0], nn.Embedding):

        def embedded(lib):
            return ours[0](x) if lib == "ours" else theirs[0](torch.tensor(x))

        return ours[1:], torch.nn.Sequential(*list(theirs)[1:]), embedded

    def leaf(lib):
        return (Tensor if lib == "ours" else torch.tensor)(x, requires_grad=True)

    return ours, theirs, leaf


def loss_of(kind, out, arrays, lib):
    """A scalar loss of the logits ``out`` (N, C) of the named kind."""
    labels, target = arrays
    hits = (target > 0) * 1.0
    if lib == "ours":
        return {
            "cross_entropy": lambda: F.softmax_cross_entropy(out, labels),
            "mse": lambda: F.mse(out, target),
            "bce": lambda: F.binary_cross_entropy_with_logits(out, hits),
            "log_softmax": lambda: (F.log_softmax(out) * target).sum(),
            "softmax": lambda: (F.softmax(out) * target).sum(),
        }[kind]()
    labels, target, hits = torch.tensor(labels), torch.tensor(target), torch.tensor(hits)
    return {
        "cross_entropy": lambda: T.cross_entropy(out, labels),
        "mse": lambda: T.mse_loss(out, target),
        "bce": lambda: T.binary_cross_entropy_with_logits(out, hits),
        "log_softmax": lambda: (out.log_softmax(-1) * target).sum(),
        "softmax": lambda: (out.softmax(-1) * target).sum(),
    }[kind]()


def row_norms(g):
    """||g|| of each row (every axis after the first), the square's sum shifted off 0."""
    return ((g**2).reshape(g.shape[0], -1).sum(-1) + 1e-12) ** 0.5


def shaken_twin(theirs, seed):
    """A copy of torch's model with every parameter moved by about SHAKE relative: how far
    its results move says how well the model's results are known at all."""
    shaken = copy.deepcopy(theirs)
    rng = np.random.RandomState(seed)
    with torch.no_grad():
        for q in shaken.parameters():
            q.mul_(torch.tensor(1.0 + SHAKE * rng.randn(*q.shape)))
    return shaken


def agree(mine, want, what, rtol, shaken=None):
    """``close``, with the room the shaken twin's result (``shaken``) shows the value has."""
    if shaken is None:
        close(mine, want, what, rtol)
        return
    want, shaken = (
        np.asarray(a.detach().numpy() if isinstance(a, torch.Tensor) else a) for a in (want, shaken)
    )
    room = SHAKE_MARGIN * float(np.max(np.abs(shaken - want), initial=0.0))
    atol = rtol * max(1.0, float(np.max(np.abs(want), initial=0.0))) + room
    np.testing.assert_allclose(mine, want, rtol=rtol, atol=atol, err_msg=what)


def same_all(ours, theirs, layouts, what, rtol=RTOL, shaken=None):
    """Our results (None or Tensors) against torch's, in torch's layout; with ``shaken``,
    the shaken twin's results, within the room they show (``agree``)."""
    shaken = [None] * len(theirs) if shaken is None else shaken
    for layout, mine, want, moved in zip(layouts, ours, theirs, shaken):
        if want is None:
            assert mine is None or not mine.data.any(), what
            continue
        mine = layout(np.zeros(want.shape) if mine is None else mine.data)
        agree(mine, want, what, rtol, moved)


def check_model(ours, theirs, x, kind, training, seed=0, rtol=RTOL, shaken=None):
    """The penalty, double backprop and Hessian-vector checks of the module docstring; with
    ``shaken`` (``shaken_twin`` of torch's model), each within the room it shows."""
    models = {"ours": ours, "torch": theirs} | ({} if shaken is None else {"shaken": shaken})
    for model in models.values():
        model.train(training)
    named = pairs(ours, theirs)
    layouts = [layout for *_, layout in named] + [np.asarray]
    wanted = {lib: [q for _, _, q, _ in pairs(ours, model)] for lib, model in models.items()}
    wanted["ours"] = [p for _, p, _, _ in named]
    differentiate = {lib: torch.autograd.grad for lib in models} | {"ours": grad}
    # per library: the model after the input, and a function making a fresh input
    parts = {}
    for lib in ("torch", "shaken")[: len(models) - 1]:
        ours_rest, torch_rest, make_input = split(ours, models[lib], x)
        parts[lib] = torch_rest, make_input
    parts = {"ours": (ours_rest, make_input)} | parts
    rng = np.random.RandomState(seed)
    n, classes = ours(x).shape
    arrays = (rng.randint(0, classes, n), rng.randn(n, classes))
    # the critic: a random mix of the outputs per row (their plain sum through BatchNorm
    # in training is a constant plus rounding: each channel sums to n times its bias)
    critic = rng.randn(n, classes)
    vectors = [rng.randn(*p.shape) for p in wanted["ours"]]

    def run(stage):
        """The stage's results of ours, torch's, and the shaken twin's (or None)."""
        results = {
            lib: stage(model, make_input(lib), lib, differentiate[lib])
            for lib, (model, make_input) in parts.items()
        }
        return results["ours"], results["torch"], results.get("shaken")

    def check(stage_results, names):
        """A stage's values against torch's, one by one, then its list of results."""
        ours_values, torch_values, shaken_values = stage_results
        shaken_values = shaken_values or [None] * len(ours_values)
        *single, results = names
        for what, mine, want, moved in zip(single, ours_values, torch_values, shaken_values):
            agree(mine.data, want, what, rtol, moved)
        same_all(ours_values[-1], torch_values[-1], layouts, results, rtol, shaken_values[-1])

    def penalty(model, x, lib, d):
        out = model(x)
        mixed = (out * (critic if lib == "ours" else torch.tensor(critic))).sum()
        (g,) = d(mixed, x, create_graph=True)
        total = loss_of(kind, out, arrays, lib) + 10.0 * ((row_norms(g) - 1.0) ** 2).mean()
        return out, g, total, d(total, wanted[lib] + [x], allow_unused=True)

    names = (
        "the output",
        "d out / d input",
        "the penalised loss",
        "the penalised loss's gradients",
    )
    check(run(penalty), names)

    def double_backprop(model, x, lib, d):
        loss = loss_of(kind, model(x), arrays, lib)
        (g,) = d(loss, x, create_graph=True)
        return g, d(loss + (g**2).sum(), wanted[lib], allow_unused=True)

    check(run(double_backprop), ("d loss / d input", "double backprop's gradients"))

    def hessian_vector(model, x, lib, d):
        loss = loss_of(kind, model(x), arrays, lib)
        firsts = d(loss, wanted[lib], create_graph=True, allow_unused=True)
        terms = [
            (g * (v if lib == "ours" else torch.tensor(np.ascontiguousarray(layout(v))))).sum()
            for g, v, layout in zip(firsts, vectors, layouts)
            if g is not None and g.requires_grad
        ]
        if not terms:  # the loss is linear in every parameter
            return [None] * (len(wanted[lib]) + 1)
        return d(sum(terms[1:], terms[0]), wanted[lib] + [x], allow_unused=True)

    ours_hv, theirs_hv, shaken_hv = run(hessian_vector)
    same_all(ours_hv, theirs_hv, layouts, "H v with respect to the parameters", rtol, shaken_hv)


# ---------------------------------------------------------------------- the tests
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(STACKS))
def test_penalties_through_each_stack_are_torchs(name, training):
    input_spec, layers = STACKS[name]
    for seed, kind in enumerate(LOSSES):
        dropout = (0.0 if training else 0.5) if seed == 1 else None
        ours, theirs, x = twins(input_spec, layers, seed, dropout)
        check_model(ours, theirs, x, kind, training, seed)


@fuzz_settings(150)
@given(models(), st.sampled_from(LOSSES), st.booleans(), st.integers(0, 2**31 - 1))
def test_penalties_through_random_models_are_torchs(model, kind, training, seed):
    input_spec, layers, _ = model
    built = build_twins(input_spec, layers, np.random.RandomState(seed))
    if built is not None:  # None: images too small, or a max pool over padding alone
        norms = (nn.LayerNorm, nn.BatchNorm1d, nn.BatchNorm2d)
        rtol = NORM_RTOL if any(isinstance(m, norms) for m in built[0]) else RTOL
        shaken = shaken_twin(built[1], seed) if rtol == NORM_RTOL else None
        check_model(*built, kind, training, seed, rtol, shaken)


def dense_twins(layers, rows, seed):
    return twins(("dense", layers[0][1]), layers, seed)[:2] + (
        np.random.RandomState(seed + 100).randn(rows, layers[0][1]),
    )


def grads_agree(ours, theirs, named, what):
    same_all(ours, theirs, [layout for *_, layout in named] + [np.asarray], what)


def test_penalty_at_an_interpolate_trains_the_generator_as_torchs():
    # WGAN-GP as written: the penalty at x = a real + (1 - a) G(z), a non-leaf input, so
    # the generator's parameters get its second derivatives through x
    generator, torch_generator, z = dense_twins([linear(2, 4), act("tanh"), linear(4, 3)], 6, 1)
    critic, torch_critic, real = dense_twins(
        [linear(3, 5), ("layernorm", 5, 1e-5, True), act("leaky_relu", 0.2), linear(5, 1)], 6, 2
    )
    share = np.random.RandomState(3).rand(6, 1)
    named = pairs(generator, torch_generator) + pairs(critic, torch_critic)

    def objective(g_model, c_model, lib, d):
        tensor = Tensor if lib == "ours" else torch.tensor
        fake = g_model(tensor(z))
        mixed = fake * tensor(1 - share) + tensor(real * share)
        (slope,) = d(c_model(mixed).sum(), mixed, create_graph=True)
        total = c_model(fake).mean() + 10.0 * ((row_norms(slope) - 1.0) ** 2).mean()
        wanted = [p if lib == "ours" else q for _, p, q, _ in named]
        return total, d(total, wanted)

    total, results = objective(generator, critic, "ours", grad)
    t_total, t_results = objective(torch_generator, torch_critic, "torch", torch.autograd.grad)
    close(total.data, t_total, "the critic's loss", RTOL)
    grads_agree(results, t_results, named, "the penalty's gradients")


def test_backward_of_a_penalised_loss_adds_into_grad_as_torchs():
    layers = [
        linear(3, 5, False),
        ("batchnorm1d", 5, 1e-5, 0.1, True),
        act("softplus"),
        linear(5, 3),
    ]
    ours, theirs, x = dense_twins(layers, 6, 4)
    named = pairs(ours, theirs)
    labels = np.array([0, 2, 1, 1, 0, 2])
    leaf, torch_leaf = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for walk in range(2):  # the second walk adds to the first
        out, t_out = ours(leaf), theirs(torch_leaf)
        (g,) = grad(out[:, 0].sum(), leaf, create_graph=True)
        (t_g,) = torch.autograd.grad(t_out[:, 0].sum(), torch_leaf, create_graph=True)
        if walk == 0:  # grad() touched no .grad
            assert all(p.grad is None for _, p, _, _ in named) and leaf.grad is None
        (F.softmax_cross_entropy(out, labels) + ((row_norms(g) - 1.0) ** 2).mean()).backward()
        (
            T.cross_entropy(t_out, torch.tensor(labels)) + ((row_norms(t_g) - 1.0) ** 2).mean()
        ).backward()
        for name, p, q, layout in named:
            close(layout(p.grad), q.grad, name, RTOL)
        close(leaf.grad, torch_leaf.grad, "the input's .grad", RTOL)


def test_gradient_norm_penalty_on_the_parameters_is_torchs():
    # loss + ||d loss / d theta||^2, to theta and to the input: H g through every layer
    ours, theirs, x = twins(*STACKS["conv_batchnorm2d_maxpool"], 5)
    named = pairs(ours, theirs)
    labels = np.arange(len(x)) % 3

    def objective(model, lib, d):
        leaf = (Tensor if lib == "ours" else torch.tensor)(x, requires_grad=True)
        out = model(leaf)
        loss = (
            F.softmax_cross_entropy(out, labels)
            if lib == "ours"
            else T.cross_entropy(out, torch.tensor(labels))
        )
        wanted = [p if lib == "ours" else q for _, p, q, _ in named]
        firsts = d(loss, wanted, create_graph=True)
        total = loss + sum((g**2).sum() for g in firsts)
        return d(total, wanted + [leaf])

    grads_agree(
        objective(ours, "ours", grad), objective(theirs, "torch", torch.autograd.grad), named, ""
    )


def test_jacobian_vector_product_by_two_vjps_is_torchs():
    # J v as d/du (u^T J) v with u a dummy cotangent; then ||J v||^2 to the parameters
    ours, theirs, x = dense_twins([linear(3, 4), act("sigmoid"), linear(4, 2)], 5, 6)
    named = pairs(ours, theirs)
    v = np.random.RandomState(7).randn(*x.shape)

    def objective(model, lib, d):
        tensor = Tensor if lib == "ours" else torch.tensor
        leaf = tensor(x, requires_grad=True)
        out = model(leaf)
        dummy = tensor(np.zeros(out.shape), requires_grad=True)
        (vjp,) = d(out, leaf, dummy, create_graph=True)
        (jv,) = d(vjp, dummy, tensor(v), create_graph=True)
        wanted = [p if lib == "ours" else q for _, p, q, _ in named]
        return jv, d((jv**2).sum(), wanted + [leaf], allow_unused=True)

    (jv, results), (t_jv, t_results) = (
        objective(ours, "ours", grad),
        objective(theirs, "torch", torch.autograd.grad),
    )
    close(jv.data, t_jv, "J v", RTOL)
    close(jvp(ours, Tensor(x), Tensor(v))[1].data, t_jv, "autograd.jvp", RTOL)
    grads_agree(results, t_results, named, "d ||J v||^2")


def test_curvature_of_a_model_with_batchnorm_in_training_is_torchs():
    layers = [linear(3, 4, False), ("batchnorm1d", 4, 1e-5, 0.1, True), act("tanh"), linear(4, 2)]
    ours, theirs, x = dense_twins(layers, 6, 8)
    named = pairs(ours, theirs)
    params = [p for _, p, _, _ in named]
    labels = np.array([0, 1, 1, 0, 1, 0])

    def loss_fn():
        return F.softmax_cross_entropy(ours(x), labels)

    def torch_loss(flat):  # of our parameters flattened in our layout, as curvature's
        pieces = torch.split(flat, [p.size for p in params])
        state = {
            name: piece.reshape(p.shape).T if layout is np.transpose else piece.reshape(p.shape)
            for (name, p, _, layout), piece in zip(named, pieces)
        }
        out = torch.func.functional_call(theirs, state, (torch.tensor(x),))
        return T.cross_entropy(out, torch.tensor(labels))

    flat = torch.tensor(np.concatenate([p.data.ravel() for p in params]))
    expected = torch.autograd.functional.hessian(torch_loss, flat).numpy()
    operator = curvature.hessian_operator(loss_fn, params)
    close(curvature.hessian_matrix(operator), expected, "the Hessian", RTOL)
    vector = np.random.RandomState(9).randn(flat.numel())
    close(operator.matvec(vector), expected @ vector, "H v", RTOL)
    top = np.linalg.eigvalsh(expected)[::-1][:2]
    close(curvature.top_eigenvalues(loss_fn, params, k=2), top, "the top eigenvalues", 1e-8)


@pytest.mark.parametrize("p", [0.0, 0.5])
def test_dropout_mask_is_the_forwards_in_the_double_backward(p):
    # p = 0.5 in training: a random mask, which torch cannot draw as ours; the model is
    # torch's with our mask written in (the second derivative must reuse the forward's)
    layer, dropout = nn.Linear(3, 4, seed=0), nn.Dropout(p, seed=1)
    x = np.random.RandomState(2).randn(5, 3)
    leaf = Tensor(x, requires_grad=True)
    hidden = layer(leaf)
    dropped = dropout(hidden)
    scale = np.divide(dropped.data, hidden.data)  # 0 or 1 / (1 - p)
    (g,) = grad(dropped.tanh().sum(), leaf, create_graph=True)
    results = grad((g**2).sum(), [layer.weight, layer.bias, leaf])
    weight, bias = (torch.tensor(a.data, requires_grad=True) for a in (layer.weight, layer.bias))
    torch_leaf = torch.tensor(x, requires_grad=True)
    t_dropped = (torch_leaf @ weight + bias) * torch.tensor(scale)
    (t_g,) = torch.autograd.grad(t_dropped.tanh().sum(), torch_leaf, create_graph=True)
    t_results = torch.autograd.grad((t_g**2).sum(), [weight, bias, torch_leaf])
    same_all(results, t_results, [np.asarray] * 3, "through Dropout")


def layer_norm_composed(h):
    """torch's LayerNorm over the last axis from mean, var and sqrt (no affine)."""
    centred = h - h.mean(-1, keepdim=True)
    return centred / (h.var(-1, unbiased=False, keepdim=True) + 1e-5).sqrt()


def batch_norm_composed(h):
    """torch's BatchNorm1d in training, (N, C), from mean, var and sqrt (no affine)."""
    centred = h - h.mean(0, keepdim=True)
    return centred / (h.var(0, unbiased=False, keepdim=True) + 1e-5).sqrt()


@pytest.mark.parametrize(
    "ours_norm, composed",
    [
        (nn.LayerNorm(5, elementwise_affine=False), layer_norm_composed),
        (nn.BatchNorm1d(5, affine=False), batch_norm_composed),
    ],
    ids=["layernorm", "batchnorm1d"],
)
def test_third_derivatives_through_normalisation_are_the_compositions(ours_norm, composed):
    # torch's fused layer_norm and batch_norm are wrong from the third order on (see the
    # module docstring); its composition of the same formula is the reference here
    rng = np.random.RandomState(10)
    x, w1, w2 = rng.randn(6, 3), rng.randn(3, 5), rng.randn(5, 2)

    def thirds(norm, tensor, d):
        leaf = tensor(x.copy(), requires_grad=True)
        weights = [tensor(w.copy(), requires_grad=True) for w in (w1, w2)]
        out = norm(leaf @ weights[0]).tanh() @ weights[1]
        (first,) = d(out[:, 0].sum(), leaf, create_graph=True)
        (second,) = d((first**2).sum(), leaf, create_graph=True)
        return second, d((second**2).sum(), [leaf, *weights])

    (second, results) = thirds(ours_norm, Tensor, grad)
    (t_second, t_results) = thirds(composed, torch.tensor, torch.autograd.grad)
    close(second.data, t_second, "the second derivative", RTOL)
    same_all(results, t_results, [np.asarray] * 3, "the third derivatives")


class CubeLayer(nn.Module):
    """x^3 by a user's Function (its backward on ndarrays, first order only)."""

    def forward(self, x):
        return Cube.apply(x)


def test_a_users_first_order_function_is_refused_by_every_second_order_path():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), CubeLayer(), nn.Linear(4, 1, seed=1))
    x = np.random.RandomState(11).randn(5, 3)
    leaf = Tensor(x, requires_grad=True)
    (first,) = grad(model(leaf).sum(), leaf)  # differentiable once: that works
    torch_model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1)).double()
    with torch.no_grad():
        for mine, theirs in zip([model[0], model[2]], torch_model):
            theirs.weight.copy_(torch.tensor(mine.weight.data.T))
            theirs.bias.copy_(torch.tensor(mine.bias.data))
    torch_leaf = torch.tensor(x, requires_grad=True)
    out = torch_model[1](torch_model[0](torch_leaf) ** 3)
    close(first.data, torch.autograd.grad(out.sum(), torch_leaf)[0], "the first derivative", RTOL)
    refused = pytest.raises(RuntimeError, match="Cube is a Function .* differentiable once")
    with refused:  # a gradient penalty
        grad(model(leaf).sum(), leaf, create_graph=True)
    with refused:  # a Hessian-vector product with respect to the parameters
        grad(model(leaf).sum(), model.parameters(), create_graph=True)
    with refused:
        hvp(lambda t: model(t).sum(), Tensor(x), Tensor(x))
    with refused:
        curvature.sharpness(lambda: model(Tensor(x)).sum(), model.parameters())
