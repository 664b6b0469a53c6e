"""A small convolutional network on scikit-learn's 8x8 handwritten digits, trained with fit.

Finding: one 3x3 convolution with 16 filters, ReLU, 2x2 max pooling and a linear layer
classify above 97% of the held-out digits (a quarter of the 1797, stratified, seed 0).

The layers are the library's own (``nn.Conv2d``, ``nn.MaxPool2d``, ``nn.Flatten``); the
model's first layer turns fit's rows of 64 pixels back into 1x8x8 images. Adam, mini-batches
of 32, pixels scaled to [0, 1]. ``--quick`` trains 10 epochs (the test suite's run).

    python examples/digits_cnn.py
    python examples/digits_cnn.py --quick
"""

from __future__ import annotations

from typing import Any

import _common
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from tinygrad_moons import Tensor, nn, optim, plot
from tinygrad_moons.cli.types import positive_int
from tinygrad_moons.train import fit, predict

QUICK = ["--epochs", "10"]


class Images(nn.Module):
    """Rows of 64 pixels as (N, 1, 8, 8) images: fit hands a model 2-D data."""

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        return x.reshape(-1, 1, 8, 8)


def cnn(filters: int, seed: int) -> nn.Sequential:
    return nn.Sequential(
        Images(),
        nn.Conv2d(1, filters, 3, padding=1, seed=seed),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(filters * 16, 10, seed=seed),
    )


def main(argv: list[str] | None = None) -> dict:
    parser = _common.parser(__doc__, QUICK)
    _common.add_epochs(parser, 15, "passes over the training digits")
    parser.add_argument("--filters", type=positive_int, default=16, help="conv filters (16)")
    args = parser.parse_args(argv)
    epochs = args.epochs

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    model = cnn(args.filters, seed=0)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    history = fit(
        model, X, y, epochs=epochs, optimizer=optimizer, batch_size=32, reg=0.0, seed=0,
        compiled=False,
    )  # fmt: skip
    train, test = history.accuracy[-1], _common.accuracy(model, X_test, y_test)
    print(f"8x8 digits, conv {args.filters}x3x3 + max pool + linear, {epochs} epochs:")
    _common.print_table(
        ["loss", "train", "held-out"],
        [(f"{history.loss[-1]:.4f}", f"{train:.1%}", f"{test:.1%}")],
    )

    figure = plot.new_figure(14, 4.6)
    curve, filters_ax, wrong_ax = figure.subfigures(1, 3, width_ratios=[1.2, 1, 1.2])
    ax = curve.subplots()
    ax.plot(range(1, epochs + 1), history.loss, marker="o")
    ax.set(xlabel="epoch", ylabel="training loss", yscale="log")
    ax.set_title(f"held-out accuracy {test:.1%}")
    kernels = model[1].weight.data[:, 0]
    for i, kax in enumerate(filters_ax.subplots(2, (len(kernels) + 1) // 2).flat):
        kax.axis("off")
        if i < len(kernels):
            kax.imshow(kernels[i], cmap="RdBu_r")
    filters_ax.suptitle("the learned 3x3 filters")
    predicted = predict(model, X_test)
    wrong = np.flatnonzero(predicted != y_test)[:8]
    for kax, i in zip(wrong_ax.subplots(2, 4).flat, [*wrong, *[None] * 8], strict=False):
        kax.axis("off")
        if i is not None:
            kax.imshow(X_test[i].reshape(8, 8), cmap="gray_r")
            kax.set_title(f"{y_test[i]} read as {predicted[i]}", fontsize=9)
    wrong_ax.suptitle(f"{int(np.sum(predicted != y_test))} held-out digits read wrong")
    path = _common.save(figure, args.out_dir, "digits_cnn.png")
    holds = test > 0.97
    _common.verdict(holds, "the CNN reads above 97% of held-out digits right", f"{test:.1%}")
    return {
        "finding_holds": holds,
        "loss": history.loss[-1],
        "train_accuracy": train,
        "test_accuracy": test,
        "figure": path,
    }


if __name__ == "__main__":
    _common.exit_with(main())
