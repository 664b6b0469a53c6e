"""Readers' ask (b): regression, a noisy sine fitted by a 1-H-1 tanh network with squared loss.

Finding: the 1-10-1 network's test MSE is 0.0456, 1.14x the noise floor sigma^2 = 0.04,
and its MSE against sin itself is 0.0044: it has the curve and a little of the noise
(training MSE 0.0332, under the floor).

As the write-up's author advised the reader: the softmax output becomes one linear unit
(``MLP([1, H, 1])`` returns it), and the loss becomes the squared error, ``F.mse``. The
gradient comes from the engine, so nothing is re-derived. The data: x uniform in
[-3, 3], y = sin(x) + Gaussian noise of standard deviation sigma; a test set of fresh
points from the same distribution. A perfect model of the mean still has a test MSE of
sigma^2 (the noise floor); its distance from sin itself shows what the fit learned.
Trained full batch with Adam on the mean squared error.

    python examples/readers_regression.py
    python examples/readers_regression.py --quick
"""

from __future__ import annotations

import _common
import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, nn, no_grad, optim, plot
from tinygrad_moons.cli.types import non_negative_float, positive_float, positive_int

# --quick: a run of a few seconds whose finding holds too
QUICK = ["--epochs", "1000"]


def noisy_sine(n: int, sigma: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x (n, 1) uniform in [-3, 3] and y (n, 1) = sin(x) + N(0, sigma^2)."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-3.0, 3.0, size=(n, 1))
    return x, np.sin(x) + sigma * rng.randn(n, 1)


def evaluate(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """The network's output for each row of x, without a graph."""
    with no_grad():
        return model(Tensor(x)).data


def main(argv: list[str] | None = None) -> dict:
    parser = _common.parser(__doc__, QUICK)
    parser.add_argument("--points", type=positive_int, default=200, help="training points (200)")
    parser.add_argument("--sigma", type=non_negative_float, default=0.2, help="noise std (0.2)")
    parser.add_argument("--hidden", type=positive_int, default=10, help="hidden units (10)")
    parser.add_argument("--epochs", type=positive_int, default=2000, help="Adam steps (2000)")
    parser.add_argument(
        "--lr", type=positive_float, default=0.01, help="Adam's learning rate (0.01)"
    )
    args = parser.parse_args(argv)

    x, y = noisy_sine(args.points, args.sigma, seed=0)
    x_test, y_test = noisy_sine(1000, args.sigma, seed=1)
    model = nn.MLP([1, args.hidden, 1], seed=0)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    losses = []
    for _ in range(args.epochs):
        optimizer.zero_grad()
        loss = F.mse(model(Tensor(x)), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    train_mse = float(np.mean((evaluate(model, x) - y) ** 2))
    test_mse = float(np.mean((evaluate(model, x_test) - y_test) ** 2))
    curve_mse = float(np.mean((evaluate(model, x_test) - np.sin(x_test)) ** 2))
    floor = args.sigma**2
    print(f"1-{args.hidden}-1 tanh network, squared loss, {args.epochs} Adam steps:")
    _common.print_table(
        ["train MSE", "test MSE", "noise floor sigma^2", "test / floor", "MSE against sin"],
        [
            (f"{train_mse:.5f}", f"{test_mse:.5f}", f"{floor:.5f}", f"{test_mse / floor:.3f}")
            + (f"{curve_mse:.5f}",)
        ],
    )

    figure = plot.new_figure(12.5, 4.6)
    left, right = figure.subplots(1, 2, width_ratios=[1.6, 1])
    grid = np.linspace(-3.2, 3.2, 400)[:, None]
    left.scatter(
        x[:, 0], y[:, 0], s=12, color="0.55", label=f"training points (sigma {args.sigma:g})"
    )
    left.plot(grid, np.sin(grid), "k--", lw=1.2, label="sin(x)")
    left.plot(grid, evaluate(model, grid), color="C3", lw=2, label=f"network 1-{args.hidden}-1")
    left.set(xlabel="x", ylabel="y", title=f"Fit: test MSE {test_mse:.4f}, noise floor {floor:.4f}")
    left.legend(fontsize=8)
    left.grid(True, alpha=0.3)
    right.semilogy(np.arange(1, len(losses) + 1), losses, label="training MSE")
    right.axhline(floor, color="k", ls=":", label="noise floor sigma^2")
    right.set(xlabel="Adam step", ylabel="mean squared error", title="Training loss")
    right.legend(fontsize=8)
    right.grid(True, alpha=0.3)
    plot.plain_log_ticks(right.yaxis)
    path = _common.save(figure, args.out_dir, "readers_regression.png")
    holds = 0.9 * floor < test_mse < 1.3 * floor and curve_mse < 0.25 * floor
    _common.verdict(
        holds,
        "the test MSE is within 0.9x-1.3x the noise floor and the fit is within a quarter "
        "of the floor of sin itself",
        f"test MSE {test_mse:.4f}, against sin {curve_mse:.4f}, floor {floor:.4f}",
    )
    return {
        "finding_holds": holds,
        "train_mse": train_mse,
        "test_mse": test_mse,
        "noise_floor": floor,
        "mse_against_sin": curve_mse,
        "figure": path,
    }


if __name__ == "__main__":
    _common.exit_with(main())
