"""The write-up's 2-H-2 network in plain numpy, with its own formulas: the oracle.

Nothing here uses the autodiff engine. The formulas are the write-up's as it wrote them,
including its naive softmax ``exp(z2) / sum(exp(z2))`` (which overflows for logits past
about 709; the write-up's network never gets there). With H hidden units:

    z1 = X W1 + b1,  a1 = tanh(z1),  z2 = a1 W2 + b2,  probs = softmax(z2)
    loss = (sum_n -ln probs[n, y_n] + reg/2 (|W1|^2 + |W2|^2)) / N

and the hand-derived backpropagation of the summed objective (N times ``loss``):

    delta3 = probs - onehot(y)
    dW2 = a1^T delta3 + reg W2,        db2 = sum_n delta3
    delta2 = delta3 W2^T * (1 - a1^2)                     (1 - a1^2, not 1 - z1^2)
    dW1 = X^T delta2 + reg W1,         db1 = sum_n delta2
"""

from __future__ import annotations

import numpy as np

Params = dict[str, np.ndarray]


def init_params(hidden: int, seed: int = 0) -> Params:
    """The write-up's start: ``np.random.seed(seed)`` then randn(2,H)/sqrt(2), zeros,
    randn(H,2)/sqrt(H), zeros, drawn from a private RandomState (global state untouched).
    """
    if int(hidden) != hidden or hidden < 1:
        raise ValueError(f"hidden must be a positive integer, got {hidden!r}")
    hidden = int(hidden)
    rng = np.random.RandomState(seed)
    return {
        "W1": rng.randn(2, hidden) / np.sqrt(2),
        "b1": np.zeros((1, hidden)),
        "W2": rng.randn(hidden, 2) / np.sqrt(hidden),
        "b2": np.zeros((1, 2)),
    }


def _check_data(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    if y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 1):
        raise ValueError(f"y must hold the class labels 0 and 1, got dtype {y.dtype}")
    return X, y


def forward(params: Params, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hidden activations a1 and the class probabilities (naive softmax)."""
    a1 = np.tanh(X.dot(params["W1"]) + params["b1"])
    z2 = a1.dot(params["W2"]) + params["b2"]
    exp_scores = np.exp(z2)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    return a1, probs


def predict(params: Params, X: np.ndarray) -> np.ndarray:
    """The class with the highest probability, per row of X."""
    return np.argmax(forward(params, np.asarray(X, dtype=np.float64))[1], axis=1)


def loss(params: Params, X: np.ndarray, y: np.ndarray, reg: float) -> float:
    """The write-up's calculate_loss: (summed cross-entropy + reg/2 |W|^2) / N."""
    X, y = _check_data(X, y)
    n = len(X)
    _, probs = forward(params, X)
    data_loss = np.sum(-np.log(probs[range(n), y]))
    data_loss += reg / 2 * (np.sum(np.square(params["W1"])) + np.sum(np.square(params["W2"])))
    return float(1.0 / n * data_loss)


def gradients(params: Params, X: np.ndarray, y: np.ndarray, reg: float) -> Params:
    """The write-up's delta3/delta2 backprop: the gradient of the SUMMED objective."""
    X, y = _check_data(X, y)
    a1, probs = forward(params, X)
    delta3 = probs
    delta3[range(len(X)), y] -= 1
    dW2 = (a1.T).dot(delta3)
    db2 = np.sum(delta3, axis=0, keepdims=True)
    delta2 = delta3.dot(params["W2"].T) * (1 - np.power(a1, 2))
    dW1 = np.dot(X.T, delta2)
    db1 = np.sum(delta2, axis=0, keepdims=True)
    dW2 += reg * params["W2"]
    dW1 += reg * params["W1"]
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def train(
    X: np.ndarray,
    y: np.ndarray,
    hidden: int,
    *,
    epsilon: float = 0.01,
    reg: float = 0.01,
    passes: int = 20000,
    seed: int = 0,
) -> tuple[Params, np.ndarray]:
    """Batch gradient descent as the write-up's build_model.

    Returns the final parameters and ``losses``, where ``losses[i]`` is the loss after the
    update of pass i (what the write-up prints as "Loss after iteration i").
    """
    X, y = _check_data(X, y)
    params = init_params(hidden, seed)
    losses = np.empty(passes)
    for i in range(passes):
        grads = gradients(params, X, y, reg)
        for name in ("W1", "b1", "W2", "b2"):
            params[name] += -epsilon * grads[name]
        losses[i] = loss(params, X, y, reg)
    return params, losses
