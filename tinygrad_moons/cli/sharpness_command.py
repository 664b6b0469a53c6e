"""``tinygrad-moons sharpness``: the top Hessian eigenvalue along training, against 2/lr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons import curvature, data, nn, plot
from tinygrad_moons.cli.options import add_out, add_training_options
from tinygrad_moons.cli.terminal import UsageError, UserError, bar, period_two, say
from tinygrad_moons.cli.train_command import chance_advice, chance_level
from tinygrad_moons.cli.types import positive_int
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.train import TrainingDiverged, fit, loss_moved, penalised_weights

DESCRIPTION = (
    "Train each single-hidden-layer network as `train` does and measure the sharpness of\n"
    "the objective gradient descent descends (summed cross-entropy + reg/2 |W|^2): the\n"
    "largest eigenvalue of its Hessian, by Hessian-vector products and scipy's eigsh.\n"
    "It is measured after epochs kN and kN + 1 (N = --every) and after the last two, the\n"
    "two points of a period-2 cycle. Gradient descent can settle only where the sharpness\n"
    "is below 2/lr; the run either converges there or bounces across a minimum, one point\n"
    "of its cycle on each side of 2/lr."
)
EXAMPLE = "tinygrad-moons sharpness --hidden 3 5 --every 200 --out sharpness.png"
SETTLE_EPOCHS = 10  # converged: the loss held still over this many last epochs ...
SETTLED = 1e-6  # ... to this relative change, having fallen, and beats chance


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hidden", type=positive_int, nargs="+", default=[3, 5], help="hidden layer sizes"
    )
    add_training_options(parser, epochs=20000)
    parser.add_argument(
        "--every",
        type=positive_int,
        default=100,
        metavar="N",
        help="measure after epochs kN and kN + 1 (and the last two)",
    )
    add_out(parser, "sharpness.png")


def summed_objective(model: nn.Module, X: np.ndarray, y: np.ndarray, reg: float) -> Callable:
    """The objective full-batch ``fit`` descends: summed cross-entropy plus reg/2 times the
    squared weights of the model's Linear layers (N times the write-up's loss)."""
    inputs, weights = Tensor(X), penalised_weights(model)

    def objective() -> Tensor:
        loss = F.softmax_cross_entropy(model(inputs), y, reduction="sum")
        return loss + (reg / 2) * F.l2(*weights) if reg and weights else loss

    return objective


def measured_epochs(epochs: int, every: int) -> set[int]:
    """Epochs kN and kN + 1, and the last two (epoch i is the write-up's pass i).

    >>> sorted(measured_epochs(10, 4))
    [0, 1, 4, 5, 8, 9]
    """
    chosen = {e for k in range(0, epochs, every) for e in (k, k + 1)}
    return {e for e in chosen | {epochs - 2, epochs - 1} if 0 <= e < epochs}


@dataclass
class SharpnessTrace:
    """One network's run: the sharpness after the measured epochs, the loss after each."""

    hidden: int
    lr: float
    epochs: list[int] = field(default_factory=list)
    sharpness: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: float = 0.0  # training accuracy after the last epoch
    chance: float = 0.0  # what always answering the commonest class scores

    @property
    def limit(self) -> float:
        return 2 / self.lr

    @property
    def learnt(self) -> bool:
        """The network ended better than chance (``train``'s rule)."""
        return self.accuracy > self.chance

    def end(self) -> tuple[float, float]:
        """The sharpness after the last two epochs."""
        return self.sharpness[-2], self.sharpness[-1]

    def ending(self) -> str:
        """How the run ended: at chance, too short to tell, converged (better than chance,
        the loss fell and then held still over the last SETTLE_EPOCHS epochs, the end
        sharpness below 2/lr), in a period-2 cycle straddling 2/lr, or not settled."""
        limit = f"2/lr = {self.limit:g}"
        if not self.learnt:
            return (
                f"no better than chance: training accuracy {self.accuracy:.1%}, what always"
                f" answering the commonest class scores ({self.chance:.1%}); the loss ended at"
                f" {self.loss[-1]:.6g}"
            )
        if len(self.loss) <= SETTLE_EPOCHS:
            return (
                f"too few epochs to tell whether it converged ({len(self.loss)}; the loss"
                f" must hold still over the last {SETTLE_EPOCHS})"
            )
        low, high = sorted(self.end())
        tail = self.loss[-SETTLE_EPOCHS:]
        change = (max(tail) - min(tail)) / abs(self.loss[-1])
        fell = loss_moved(self.loss[0], self.loss[-1]) < 0
        if fell and change <= SETTLED and high < self.limit:
            return (
                f"converged: the loss held still (changed by {change:.1e} relative over the"
                f" last {SETTLE_EPOCHS} epochs) and the end sharpness is below {limit}"
            )
        if period_two(self.loss) is not None and low < self.limit <= high:
            return (
                f"a period-2 cycle straddling {limit} "
                f"(loss {self.loss[-2]:.7f} / {self.loss[-1]:.7f})"
            )
        if not fell:
            return f"not converged: the loss did not fall from {self.loss[0]:.6g}"
        where = (
            f"the end sharpness is below {limit}"
            if high < self.limit
            else f"the end sharpness is above {limit}"
            if low >= self.limit
            else f"the end sharpness straddles {limit}"
        )
        return (
            f"not settled yet: the loss changed by {change:.1e} relative over the last"
            f" {SETTLE_EPOCHS} epochs (more --epochs); {where}"
        )


def trace(
    hidden: int, X: np.ndarray, y: np.ndarray, args: argparse.Namespace, progress: object = None
) -> SharpnessTrace:
    """Train the write-up's 2-``hidden``-2 network, measuring its sharpness on the way."""
    model = nn.MLP([2, hidden, 2], seed=args.seed)
    objective = summed_objective(model, X, y, args.reg)
    params = model.parameters()
    chosen = measured_epochs(args.epochs, args.every)
    result = SharpnessTrace(hidden, args.lr)

    def measure(epoch: int, history: object) -> None:
        if epoch in chosen:
            result.epochs.append(epoch)
            result.sharpness.append(curvature.sharpness(objective, params))
        if progress is not None:
            progress.update(1)

    history = fit(
        model,
        X,
        y,
        epochs=args.epochs,
        lr=args.lr,
        reg=args.reg,
        callbacks=[measure],
        progress=False,
    )
    result.loss = list(history.loss)
    result.accuracy, result.chance = history.accuracy[-1], chance_level(y)
    return result


def _report(r: SharpnessTrace) -> str:
    first, last = r.end()
    peak = int(np.argmax(r.sharpness))
    return (
        f"hidden size {r.hidden}: sharpness after epochs {r.epochs[-2]} and {r.epochs[-1]}: "
        f"{first:.1f} and {last:.1f}; largest seen {r.sharpness[peak]:.1f} (epoch "
        f"{r.epochs[peak]}); {r.ending()}"
    )


def run(args: argparse.Namespace) -> int:
    if args.epochs < 2:
        raise UsageError("--epochs must be at least 2: the end of a run is its last two epochs")
    X, y = data.make_moons()
    print(
        f"Sharpness of the summed objective (lr {args.lr:g}, reg {args.reg:g}, 2/lr = "
        f"{2 / args.lr:g}) after epochs kN and kN + 1, N = {args.every}, of {args.epochs}"
    )
    traces = []
    for hidden in args.hidden:
        progress = bar(args.epochs, "epoch", f"hidden {hidden}", on=sys.stdout.isatty())
        try:
            traces.append(trace(hidden, X, y, args, progress))
        except TrainingDiverged as error:
            raise UserError(str(error)) from None
        finally:
            if progress is not None:
                progress.close()
        say(_report(traces[-1]))
    figure = plot.sharpness_curves(
        {f"hidden {t.hidden}": (t.epochs, t.sharpness, t.loss) for t in traces},
        limit=2 / args.lr,
        title=f"Sharpness along gradient descent (lr {args.lr:g}) and the 2/lr limit",
    )
    print(f"Figure written to {plot.save(figure, args.out)}")
    at_chance = [t for t in traces if not t.learnt]
    if at_chance:
        sizes = ", ".join(str(t.hidden) for t in at_chance)
        raise UserError(
            f"hidden size{'s' * (len(at_chance) > 1)} {sizes} ended no better than chance"
            f" ({at_chance[0].chance:.1%}, always answering the commonest class), so there is"
            f" no minimum to measure; {chance_advice(args.lr)}"
        )
    return 0
