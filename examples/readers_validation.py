"""Readers' ask (a): a held-out test set, reg_lambda and the hidden size chosen on validation.

Finding: the validation set picks 20 hidden units with reg_lambda 1 (95.8% validation
accuracy, the lowest validation loss of the six candidates tied there), whose accuracy
on the untouched test set is 94.2%; 1 and 2 hidden units stay at or under 90%.

600 moons (noise 0.2, seed 2) split 60/20/20 into training, validation and test sets,
stratified (scikit-learn's train_test_split). Every (hidden size, reg_lambda) pair is
trained on the training set with the write-up's full-batch gradient descent (lr scaled
by 200/N, so each point pulls as hard as in the write-up's 200-point run) and scored on
the validation set; the winner has the best validation accuracy, ties going to the lower
validation loss. Only the winner is scored on the test set, once.

    python examples/readers_validation.py
    python examples/readers_validation.py --quick
"""

from __future__ import annotations

import _common
import numpy as np
from joblib import Parallel, delayed
from matplotlib.patches import Rectangle

from tinygrad_moons import data, nn, plot
from tinygrad_moons.cli.types import n_jobs, non_negative_float, positive_int
from tinygrad_moons.train import fit, predict

# --quick: a run of a few seconds whose finding holds too
QUICK = ["--hidden", "1", "3", "--regs", "0.01", "10", "--epochs", "1000", "--n-jobs", "1"]


def splits(seed: int = 2) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Training (60%), validation (20%) and test (20%) sets of 600 moons, stratified."""
    X, y = data.make_moons(600, seed=seed)
    X_train, X_rest, y_train, y_rest = data.train_test_split(
        X, y, test_size=0.4, random_state=0, stratify=y
    )
    X_val, X_test, y_val, y_test = data.train_test_split(
        X_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest
    )
    return {"train": (X_train, y_train), "val": (X_val, y_val), "test": (X_test, y_test)}


def train(hidden: int, reg: float, epochs: int) -> dict:
    """One candidate, trained on the training set and scored on the validation set."""
    sets = splits()
    X, y = sets["train"]
    model = nn.MLP([2, hidden, 2], seed=0)
    history = fit(
        model, X, y, epochs=epochs, lr=0.01 * 200 / len(y), reg=reg, validation=sets["val"]
    )
    return {
        "hidden": hidden,
        "reg": reg,
        "train": history.accuracy[-1],
        "val": history.val_accuracy[-1],
        "val_loss": history.val_loss[-1],
        "model": model,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = _common.parser(__doc__, QUICK)
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=[1, 2, 3, 5, 20])
    parser.add_argument(
        "--regs", type=non_negative_float, nargs="+", default=[0.01, 0.1, 1.0, 10.0]
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=2000, help="full-batch epochs (2000)"
    )
    parser.add_argument("--n-jobs", type=n_jobs, default=2, help="candidates trained at once (2)")
    args = parser.parse_args(argv)

    runs = Parallel(n_jobs=args.n_jobs)(
        delayed(train)(h, reg, args.epochs) for h in args.hidden for reg in args.regs
    )
    winner = max(runs, key=lambda r: (r["val"], -r["val_loss"]))
    X_test, y_test = splits()["test"]
    test = _common.accuracy(winner["model"], X_test, y_test)
    rows = [
        (r["hidden"], f"{r['reg']:g}", f"{r['train']:.1%}", f"{r['val']:.1%}")
        + (f"{r['val_loss']:.4f}", "<- chosen" if r is winner else "")
        for r in runs
    ]
    print(f"Candidates on 360 training / 120 validation points, {args.epochs} epochs:")
    _common.print_table(["hidden", "reg", "train", "validation", "val loss", ""], rows)
    print(
        f"Chosen: hidden {winner['hidden']}, reg {winner['reg']:g}; "
        f"test accuracy {test:.1%} on {len(y_test)} unseen points"
    )

    figure = plot.new_figure(12.5, 4.8)
    left, right = figure.subplots(1, 2)
    grid = np.array([[r["val"] for r in runs if r["hidden"] == h] for h in args.hidden])
    image = left.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
    for i, j in np.ndindex(grid.shape):
        color = "k" if grid[i, j] > grid.mean() else "w"
        left.text(j, i, f"{grid[i, j]:.1%}", ha="center", va="center", fontsize=8, color=color)
    chosen = (args.regs.index(winner["reg"]) - 0.5, args.hidden.index(winner["hidden"]) - 0.5)
    left.add_patch(Rectangle(chosen, 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    left.set_xticks(range(len(args.regs)), [f"{reg:g}" for reg in args.regs])
    left.set_yticks(range(len(args.hidden)), [str(h) for h in args.hidden])
    left.set(xlabel="reg_lambda", ylabel="hidden units", title="Validation accuracy (chosen: red)")
    figure.colorbar(image, ax=left)
    plot.decision_boundary(
        lambda P: predict(winner["model"], P),
        X_test,
        y_test,
        ax=right,
        title=f"Chosen: hidden {winner['hidden']}, reg {winner['reg']:g}; test points ({test:.1%})",
    )
    path = _common.save(figure, args.out_dir, "readers_validation.png")
    one_unit = [r["val"] for r in runs if r["hidden"] == 1]
    holds = test >= 0.9 and all(val < winner["val"] - 0.05 for val in one_unit)
    _common.verdict(
        holds,
        "the network validation picks holds up on the untouched test set (>= 90%), and one "
        "hidden unit trails it on validation by more than 5 points",
        f"test accuracy {test:.1%}; 1 unit's validation accuracies {one_unit}",
    )
    keys = ("train", "val", "val_loss")
    return {
        "finding_holds": holds,
        "chosen": (winner["hidden"], winner["reg"]),
        "test_accuracy": test,
        "candidates": {(r["hidden"], r["reg"]): {k: r[k] for k in keys} for r in runs},
        "figure": path,
    }


if __name__ == "__main__":
    _common.exit_with(main())
