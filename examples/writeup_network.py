"""The write-up's network through MLP + SGD + fit, held to the reproduction table.

Finding: fit() follows the write-up's hand-derived training within the reproduction
table's bounds: the largest relative gap over the compared passes is 8.6e-12 across the
table (size 2; 1.0e-15 for size 3), under the bound 1e-9, and after 20,000 passes the last
two losses of sizes 1, 3, 5, 20 and 50 agree as an unordered pair to 7.3e-10 (size 3;
bound 1e-8). These gaps are one machine's (machine-dependent); the bounds are the finding.

The reproduction table's rule (docs/api.md), per hidden size, against reference.py:
compare passes 0-1000 (0-400 for size 2, whose runs turn chaotic from pass ~460) at a
relative 1e-9, and, where the runs settle, the last two losses after all passes as an
unordered pair at a relative 1e-8 (size 3 ends in a period-2 oscillation whose phase
rounding decides). Sizes 2 and 4 are only compared early. The last pair is meant for
20,000 passes: size 3's cycle is still growing at 2000 passes, so
``--passes 2000`` rightly reports that the table does not hold there and exits with 1.

    python examples/writeup_network.py                 # the whole table, 20,000 passes
    python examples/writeup_network.py --quick
"""

from __future__ import annotations

import _common
import numpy as np

from tinygrad_moons import data, nn, optim, plot, reference
from tinygrad_moons.cli.types import n_jobs
from tinygrad_moons.three_gradients import (
    COMPARED_PASSES,
    EARLY_RTOL,
    LAST_RTOL,
    SETTLED,
    table_gaps,
)
from tinygrad_moons.train import fit, predict

# --quick: a run of a few seconds whose finding holds too
QUICK = ["--hidden", "1", "2", "3", "--passes", "1001", "--n-jobs", "1"]


SHOWN_PASSES = 2500  # the figure's gap curves: past the chaotic stretch of size 3


def run(hidden: int, passes: int) -> dict:
    """Train both ways; the gaps the reproduction table bounds, the curves and the trained model."""
    X, y = data.make_moons()
    compared = COMPARED_PASSES[hidden]
    if hidden not in SETTLED:  # the runs part ways later by design: train only what is compared
        passes = min(passes, compared + 1)
    model = nn.MLP([2, hidden, 2], seed=0)
    history = fit(model, X, y, epochs=passes, optimizer=optim.SGD(model.parameters(), lr=0.01))
    ours = np.array(history.loss)
    _, theirs = reference.train(X, y, hidden, passes=passes)
    gap = np.abs(ours - theirs) / np.abs(theirs)
    early_gap, last_gap = table_gaps(hidden, ours, theirs)
    return {
        "hidden": hidden,
        "passes": passes,
        "compared": min(compared, passes - 1),
        "early_gap": early_gap,
        "last_gap": last_gap,
        "final_loss": float(ours[-1]),
        "accuracy": history.accuracy[-1],
        "gap_curve": gap,
        "model": model,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = _common.parser(__doc__, QUICK)
    parser.add_argument(
        "--hidden", type=int, nargs="+", default=sorted(COMPARED_PASSES), choices=COMPARED_PASSES
    )
    _common.add_epochs(parser, 20000, "passes of training, the write-up's word", "--passes")
    parser.add_argument("--n-jobs", type=n_jobs, default=2, help="sizes trained at once (2)")
    args = parser.parse_args(argv)

    from joblib import Parallel, delayed

    # The costly sizes first, so two workers finish together.
    order = sorted(args.hidden, key=lambda h: (h not in SETTLED, -h))
    results = Parallel(n_jobs=args.n_jobs)(delayed(run)(h, args.epochs) for h in order)
    results = sorted(results, key=lambda r: r["hidden"])

    rows = []
    for r in results:
        last = "-" if r["last_gap"] is None else f"{r['last_gap']:.1e}"
        rows.append(
            (r["hidden"], r["passes"], f"0-{r['compared']}", f"{r['early_gap']:.1e}", last)
            + (f"{r['final_loss']:.6f}", f"{r['accuracy']:.1%}")
        )
    _common.print_table(
        ["hidden", "passes", "compared", "max rel gap", "last pair gap", "loss", "accuracy"],
        rows,
    )
    early = max(r["early_gap"] for r in results)
    lasts = [r["last_gap"] for r in results if r["last_gap"] is not None]
    last = max(lasts) if lasts else None
    holds = early <= EARLY_RTOL and (last is None or last <= LAST_RTOL)
    why_not = []
    if early > EARLY_RTOL:
        why_not.append(f"an early gap is {early:.1e} > {EARLY_RTOL:g}")
    if last is not None and last > LAST_RTOL:
        why_not.append(
            f"the last two losses differ by {last:.1e} > {LAST_RTOL:g} (a period-2 cycle that "
            f"has not settled? the table compares them after 20,000 passes)"
        )
    _common.verdict(
        holds,
        f"fit retraces the write-up's training within the table's bounds (measured: early "
        f"gaps {early:.1e}" + ("" if last is None else f", last pair {last:.1e}") + ")",
        "; ".join(why_not),
    )

    figure = plot.new_figure(13.0, 5.0)
    left, right = figure.subplots(1, 2)
    shown = next((r for r in results if r["hidden"] == 3), results[0])
    X, y = data.make_moons()
    plot.decision_boundary(
        lambda P: predict(shown["model"], P),
        X,
        y,
        ax=left,
        title=f"Decision boundary for hidden layer size {shown['hidden']} "
        f"({shown['accuracy']:.1%}; lr 0.01, reg 0.01)",
    )
    for r in results:
        shown_gaps = r["gap_curve"][:SHOWN_PASSES]
        pair = "" if r["last_gap"] is None else f", last pair {r['last_gap']:.0e}"
        # The running maximum: the largest gap so far (0 has no place on a log axis), past
        # the compared passes too, where the chaotic runs part; a dot where comparing ends.
        running = np.maximum.accumulate(np.maximum(shown_gaps, 1e-17))
        (line,) = right.semilogy(running, label=f"hidden {r['hidden']}{pair}", lw=1.2)
        end = min(r["compared"], len(running) - 1)
        right.plot(end, running[end], "o", color=line.get_color(), ms=4)
    right.axhline(EARLY_RTOL, color="k", ls="--", lw=1, label="the table's bound 1e-9")
    right.set(
        xlabel="pass",
        ylabel="largest |fit - reference| / reference so far",
        title=f"fit() against the write-up's formulas, first {SHOWN_PASSES} passes\n"
        "(dots: the last pass the table compares)",
    )
    right.grid(True, alpha=0.3)
    right.legend(fontsize=8, ncol=2)
    path = _common.save(figure, args.out_dir, "writeup_network.png")
    return {
        "finding_holds": holds,
        "table_holds": holds,
        "early_gap": early,
        "last_gap": last,
        "by_hidden": {
            r["hidden"]: {k: r[k] for k in ("early_gap", "last_gap", "final_loss", "accuracy")}
            for r in results
        },
        "figure": path,
    }


if __name__ == "__main__":
    _common.exit_with(main())
