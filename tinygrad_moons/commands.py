"""What each command of the command line does (``cli.py`` parses, this module runs).

Each function takes the parsed ``argparse.Namespace`` and returns the exit code. A problem
with the user's input found while running is a ``UserError``: one line, exit code 1.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import warnings
from pathlib import Path

import numpy as np

from tinygrad_moons import data, nn, optim, plot, reference, writeup
from tinygrad_moons.train import History, TrainingDiverged, fit, predict_proba
from tinygrad_moons.train import predict as predict_model  # `predict` is the command below

TRAIN_BLOBS = 300


class UserError(Exception):
    """An input problem to report in one line (exit code 1), not as a traceback."""


# ---------------------------------------------------------------------- train
def _data_sets(classes: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Training and held-out data: the write-up's moons, or blobs around a ring."""
    if classes == 2:
        return data.make_moons(), data.held_out_moons()
    centers = data.ring_centers(classes)
    return (
        data.make_blobs(TRAIN_BLOBS, classes, seed=0, centers=centers),
        data.make_blobs(data.HELD_OUT_POINTS, classes, seed=data.HELD_OUT_SEED, centers=centers),
    )


def _loss_lines(every: int):
    """A fit callback printing the write-up's "Loss after iteration i" lines."""

    def report(epoch: int, history: History) -> None:
        if epoch % every == 0:
            print(f"Loss after iteration {epoch}: {history.loss[-1]:f}", flush=True)

    return report


def train(args: argparse.Namespace) -> int:
    if args.classes < 2:
        raise UserError(f"--classes must be 2 or more, got {args.classes}")
    (X, y), (X_test, y_test) = _data_sets(args.classes)
    sizes = [X.shape[1], *args.hidden, args.classes]
    model = nn.MLP(sizes, args.activation, seed=args.seed)
    optimizer = optim.OPTIMIZERS[args.optimizer](model.parameters(), lr=args.lr)
    on_terminal = sys.stdout.isatty()
    print(f"Training {model.__class__.__name__} {sizes} ({args.activation}, {args.optimizer})")
    try:
        history = fit(
            model,
            X,
            y,
            epochs=args.passes,
            reg=args.reg,
            optimizer=optimizer,
            batch_size=args.batch_size,
            callbacks=[] if on_terminal else [_loss_lines(args.print_every)],
            progress=on_terminal,
            seed=args.seed,
        )
    except TrainingDiverged as error:
        raise UserError(str(error)) from None
    test_accuracy = np.mean(predict_model(model, X_test) == y_test)
    print(f"Final loss after {len(history)} passes: {history.loss[-1]:f}")
    print(f"Training accuracy: {history.accuracy[-1]:.1%} of {len(y)} points")
    print(f"Held-out accuracy: {test_accuracy:.1%} of {len(y_test)} fresh points")
    ax = plot.decision_boundary(
        lambda P: predict_model(model, P),
        X,
        y,
        title=f"Decision boundary, hidden layers {args.hidden}, {args.activation}",
    )
    print(f"Decision boundary written to {plot.save(ax.figure, args.out)}")
    if args.save:
        config = {"sizes": sizes, "activation": args.activation}
        nn.save(model, args.save, config=config)
        print(f"Model written to {args.save}")
    return 0


# ---------------------------------------------------------------------- predict
def load_model(path: str) -> nn.MLP:
    """The MLP saved at ``path`` by ``train --save``, its architecture from the file."""
    try:
        config = nn.load_config(path)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read model {path}: {error}") from None
    if not isinstance(config, dict) or "sizes" not in config:
        raise UserError(f"{path} holds no architecture; save models with train --save")
    sizes, activation = config.get("sizes"), config.get("activation", "tanh")
    if not (
        isinstance(sizes, list)
        and len(sizes) >= 2
        and all(isinstance(n, int) and n > 0 for n in sizes)
    ):
        raise UserError(f"{path}: the architecture's sizes {sizes!r} are not positive integers")
    try:
        model = nn.MLP(sizes, activation)
        nn.load(model, path)
    except ValueError as error:
        raise UserError(f"cannot load model {path}: {error}") from None
    return model


def read_points(path: str, n_features: int) -> np.ndarray:
    """Rows of ``n_features`` numbers from a CSV file; the first line may be a header."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}") from None
    rows = []
    for line_number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            values = [float(cell) for cell in row]
        except ValueError:
            if line_number == 1:
                continue  # a header
            raise UserError(f"{path}, line {line_number}: not numbers: {','.join(row)}") from None
        if len(values) != n_features or not np.all(np.isfinite(values)):
            raise UserError(
                f"{path}, line {line_number}: expected {n_features} finite numbers, got "
                f"{','.join(row)}"
            )
        rows.append(values)
    if not rows:
        raise UserError(f"{path} holds no points")
    return np.array(rows)


def predict(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    points = read_points(args.input, model.sizes[0])
    probabilities = predict_proba(model, points)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["class", *[f"p{k}" for k in range(probabilities.shape[1])]])
    for row in probabilities:
        writer.writerow([int(row.argmax()), *[f"{p:.6f}" for p in row]])
    if args.output:
        Path(args.output).write_text(out.getvalue())
        print(f"{len(points)} predictions written to {args.output}")
    else:
        sys.stdout.write(out.getvalue())
    return 0


# ---------------------------------------------------------------------- sweep
def sweep(args: argparse.Namespace) -> int:
    from tinygrad_moons.sweep import hidden_size_sweep

    if args.backend == "dask" and not args.scheduler:
        raise UserError("--backend dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    try:
        results = hidden_size_sweep(
            args.hidden,
            passes=args.passes,
            lr=args.lr,
            reg=args.reg,
            seed=args.seed,
            n_jobs=args.n_jobs,
            backend=args.backend,
            scheduler=args.scheduler,
        )
    except (TrainingDiverged, OSError) as error:
        raise UserError(str(error)) from None
    X, y = data.make_moons()
    print(f"{'hidden':>6} {'final loss':>11} {'train acc':>10} {'held-out acc':>13}")
    panels = []
    for r in results:
        print(
            f"{r.hidden:>6} {r.final_loss:>11.6f} {r.train_accuracy:>10.1%} "
            f"{r.test_accuracy:>13.1%}"
        )
        model = r.model()
        title = (
            f"Hidden layer size {r.hidden}: train {r.train_accuracy:.1%}, "
            f"held-out {r.test_accuracy:.1%}"
        )
        panels.append((title, lambda P, m=model: predict_model(m, P)))
    figure = plot.decision_boundary_grid(panels, X, y)
    print(f"Grid written to {plot.save(figure, args.out)}")
    return 0


# ---------------------------------------------------------------------- baseline
def baseline(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegressionCV

    X, y = data.make_moons()
    with warnings.catch_warnings():  # new defaults announced; the old ones are the write-up's
        warnings.simplefilter("ignore", FutureWarning)
        logistic = LogisticRegressionCV().fit(X, y)
    model = nn.MLP([2, args.hidden, 2], seed=args.seed)  # the write-up's network and training
    fit(model, X, y, epochs=args.passes, lr=args.lr, reg=args.reg, progress=False)
    panels = []
    for name, classify in [
        ("Logistic regression", logistic.predict),
        (f"Network, hidden layer size {args.hidden}", lambda P: predict_model(model, P)),
    ]:
        accuracy = np.mean(classify(X) == y)
        print(f"{name}: training accuracy {accuracy:.1%}")
        panels.append((f"{name} ({accuracy:.1%})", classify))
    figure = plot.decision_boundary_grid(panels, X, y)
    print(f"Figure written to {plot.save(figure, args.out)}")
    return 0


# ---------------------------------------------------------------------- gradcheck
BOUNDS = {"autodiff_vs_formulas": 1e-10, "autodiff_vs_fd": 1e-6, "formulas_vs_fd": 1e-6}


def _plot_step_sizes(args: argparse.Namespace, X: np.ndarray, y: np.ndarray, params) -> None:
    steps = np.logspace(-12, -1, 45)
    errors = writeup.finite_difference_error_by_step(params, X, y, args.reg, steps)
    ax = plot.step_size_curve(
        steps, errors, title=f"Central differences vs autodiff, hidden size {args.hidden}"
    )
    print(f"Step-size curve written to {plot.save(ax.figure, args.plot)}")


def gradcheck(args: argparse.Namespace) -> int:
    X, y = data.make_moons()
    trained, _ = reference.train(
        X, y, args.hidden, epsilon=args.lr, reg=args.reg, passes=args.passes, seed=args.seed
    )
    points = [("initial", reference.init_params(args.hidden, args.seed))]
    points.append((f"after {args.passes} passes", trained))
    print(
        f"Gradients of the summed objective, hidden size {args.hidden}, reg {args.reg}: "
        f"normwise relative error max|a-b| / max(max|a|, max|b|); central differences "
        f"with eps {args.eps:g}"
    )
    print(f"{'parameters':<22}{'param':<7}" + "".join(f"{k:>22}" for k in BOUNDS))
    print(" " * 29 + "".join(f"{'(bound ' + format(b, 'g') + ')':>22}" for b in BOUNDS.values()))
    broken = []
    for label, params in points:
        rows = writeup.gradient_agreement(params, X, y, args.reg, eps=args.eps)
        for name, errors in rows.items():
            cells = ""
            for key, bound in BOUNDS.items():
                ok = errors[key] <= bound
                cells += f"{errors[key]:>20.2e}{'  ' if ok else ' !'}"
                if not ok:
                    broken.append(f"{label} {name} {key} {errors[key]:.2e} > {bound:g}")
            print(f"{label:<22}{name:<7}{cells}")
    if args.plot:
        _plot_step_sizes(args, X, y, points[0][1])
    if broken:
        print("FAILED: " + "; ".join(broken))
        return 1
    print("OK: all three gradients agree within the bounds")
    return 0


# ---------------------------------------------------------------------- graph
def graph(args: argparse.Namespace) -> int:
    from tinygrad_moons.tensor import trace_backward

    X, y = data.make_moons()
    params = writeup.as_tensors(reference.init_params(args.hidden, seed=0))
    objective = writeup.summed_objective(params, X, y, args.reg)
    gradients = trace_backward(objective)
    layout = plot.graph_layout(objective, names=params, gradients=gradients)
    print(
        f"The summed objective of the 2-{args.hidden}-2 network: {len(gradients)} ops, "
        f"{len(layout.leaves)} parameters"
    )
    for label in layout.labels.values():
        print("  " + label.replace("\n", "  "))
    figure = plot.computation_graph(layout, title="Computation graph of the write-up's loss")
    print(f"Graph written to {plot.save(figure, args.out)}")
    return 0


# ---------------------------------------------------------------------- compile
def compile_step(args: argparse.Namespace) -> int:
    from tinygrad_moons.graph import capture
    from tinygrad_moons.tensor import Tensor

    X, y = data.make_moons()
    X = Tensor(X)
    params = writeup.as_tensors(reference.init_params(args.hidden, seed=0))
    step = capture(
        lambda: writeup.summed_objective(params, X, y, args.reg), names={"X": X, **params}
    )
    print(
        f"# The training step of the 2-{args.hidden}-2 network, as graph.capture generated it "
        f"from\n# F.softmax_cross_entropy(tanh(X @ W1 + b1) @ W2 + b2, y, 'sum') "
        f"+ {args.reg:g} / 2 * F.l2(W1, W2)\n"
    )
    print(step.source)
    return 0


# ---------------------------------------------------------------------- bench
def bench(args: argparse.Namespace) -> int:
    from tinygrad_moons import bench as benchmark

    workloads = args.workloads or (benchmark.QUICK_WORKLOADS if args.quick else benchmark.WORKLOADS)
    repeats = args.repeats or (3 if args.quick else 7)
    result = benchmark.run_benchmark(
        tuple(workloads),
        repeats,
        min_time=0.02 if args.quick else 0.05,
        fit_epochs=2000 if args.quick else benchmark.FIT_EPOCHS,
        fit_repeats=2 if args.quick else 3,
    )
    print(benchmark.format_table(result))
    return 0
