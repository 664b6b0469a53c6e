"""Exercise 1: mini-batch gradient descent, batch sizes 1, 20, 64 and 200 (full batch).

Finding: per epoch the batch sizes descend alike (loss 0.12 after 114 to 156 epochs), but
an epoch of batch size 1 costs 190x the wall time of a full-batch epoch (68 ms against
0.36 ms), so full batch reaches 0.12 in 0.06 s and batch size 1 in 8.3 s.

Every batch minimises its summed cross-entropy with the write-up's lr 0.01 (fit's
objective), so one epoch of small batches adds up to about one full-batch step: per epoch
the curves nearly coincide, and what differs is the price of an epoch, one optimiser
step (a forward and a backward through the graph) per batch. Batch size 200 without
shuffling is full-batch training, bit for bit.

    python examples/minibatch.py
    python examples/minibatch.py --quick
"""

from __future__ import annotations

import _common
import numpy as np

from tinygrad_moons import data, nn, plot
from tinygrad_moons.cli.types import positive_float, positive_int
from tinygrad_moons.train import History, fit

BATCH_SIZES = (1, 20, 64, 200)


# --quick: a run of a few seconds whose finding holds too
QUICK = ["--epochs", "60", "--target", "0.27"]


def first_below(history: History, target: float) -> tuple[int | None, float | None]:
    """The first epoch (1-based) whose loss is below ``target``, and the seconds it took."""
    below = np.flatnonzero(np.array(history.loss) < target)
    if not below.size:
        return None, None
    return int(below[0]) + 1, history.seconds[below[0]]


def train(batch_size: int | None, epochs: int, shuffle: bool = True) -> tuple[History, dict]:
    """The write-up's network and data, trained with ``batch_size``; History and weights."""
    X, y = data.make_moons()
    model = nn.MLP([2, 3, 2], seed=0)
    history = fit(model, X, y, epochs=epochs, batch_size=batch_size, shuffle=shuffle, seed=0)
    return history, model.state_dict()


def main(argv: list[str] | None = None) -> dict:
    parser = _common.parser(__doc__, QUICK)
    parser.add_argument(
        "--epochs", type=positive_int, default=300, help="epochs per batch size (300)"
    )
    parser.add_argument("--target", type=positive_float, default=0.12, help="loss to reach (0.12)")
    parser.add_argument("--batch-sizes", type=positive_int, nargs="+", default=list(BATCH_SIZES))
    args = parser.parse_args(argv)

    histories, rows, results = {}, [], {}
    for batch_size in args.batch_sizes:
        history, _ = train(batch_size, args.epochs)
        epoch, seconds = first_below(history, args.target)
        per_epoch = history.seconds[-1] / len(history)
        histories[f"batch size {batch_size}"] = history
        results[batch_size] = {
            "epochs_to_target": epoch,
            "seconds_to_target": seconds,
            "seconds_per_epoch": per_epoch,
            "final_loss": history.loss[-1],
            "accuracy": history.accuracy[-1],
        }
        rows.append(
            (batch_size, epoch or "never", "-" if seconds is None else f"{seconds:.3f}")
            + (f"{1000 * per_epoch:.2f}", f"{history.loss[-1]:.5f}", f"{history.accuracy[-1]:.1%}")
        )
    print(f"Batch sizes on the write-up's 200 moons, lr 0.01, {args.epochs} epochs each:")
    _common.print_table(
        ["batch", f"epochs to {args.target:g}", "seconds to it", "ms/epoch", "loss", "accuracy"],
        rows,
    )

    # batch_size=200 without shuffling against full-batch training (batch_size=None).
    history_200, state_200 = train(200, min(args.epochs, 50), shuffle=False)
    history_full, state_full = train(None, min(args.epochs, 50))
    identical = history_200.loss == history_full.loss and all(
        np.array_equal(state_200[name], state_full[name]) for name in state_full
    )
    print(f"batch size 200, no shuffling, equals full batch bit for bit: {identical}")

    figure = plot.new_figure(13.0, 4.8)
    left, right = figure.subplots(1, 2)
    for ax, against in ((left, "epoch"), (right, "seconds")):
        title = (
            f"Loss on all 200 points against {'epoch' if against == 'epoch' else 'wall time'}"
            "\n(lr 0.01, reg 0.01)"
        )
        plot.history_curves(histories, against=against, ax=ax, log=True, title=title)
        # Per epoch the small batches' curves lie on one another: batch size 1 is drawn
        # wide and underneath, the others dashed on top, so each stays visible.
        for line, (width, style, order) in zip(
            ax.get_lines(), [(4.0, "-", 1), (1.6, "--", 3), (1.4, "-.", 3), (1.4, "-", 2)]
        ):
            line.set(linewidth=width, linestyle=style, zorder=order, alpha=0.8)
        ax.axhline(args.target, color="0.4", ls=":", lw=1, label=f"loss {args.target:g}")
        ax.legend()
    right.set_xscale("log")
    plot.plain_log_ticks(right.xaxis)
    path = _common.save(figure, args.out_dir, "minibatch.png")
    epochs = [r["epochs_to_target"] for r in results.values()]
    reached = None not in epochs
    alike = reached and max(epochs) <= 1.5 * min(epochs)
    costly = True
    if 1 in results and 200 in results:
        costly = results[1]["seconds_per_epoch"] > 10 * results[200]["seconds_per_epoch"]
    holds = alike and costly and identical
    _common.verdict(
        holds,
        f"per epoch the batch sizes reach loss {args.target:g} alike (within 1.5x), an epoch "
        f"of batch size 1 costs over 10x a full-batch one, and batch 200 unshuffled is full batch",
        f"epochs to {args.target:g}: {epochs}; batch 1 over 10x: {costly}; identical: {identical}",
    )
    return {
        "finding_holds": holds,
        "by_batch_size": results,
        "identical_to_full_batch": identical,
        "figure": path,
    }


if __name__ == "__main__":
    _common.exit_with(main())
