"""``tinygrad-moons reproduce``: the write-up's 20 printed lines, then autodiff beside them.

The post's lines come from ``reference.train``: the post's own formulas (naive softmax,
hand-derived backprop) on the post's data and start, so they are the lines the post's code
prints on this machine. The autodiff run is ``train.fit`` on ``nn.MLP([2, H, 2], seed=0)``.
``compare`` says, from the two loss curves, where they part and why.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from tinygrad_moons import data, nn, reference
from tinygrad_moons.cli.options import add_hidden
from tinygrad_moons.cli.terminal import period_two
from tinygrad_moons.train import fit

DESCRIPTION = (
    "Print the post's 20 'Loss after iteration i' lines of build_model(3, print_loss=True),\n"
    "computed with the post's own formulas (naive softmax, hand-derived backprop), then the\n"
    "same network trained by autodiff (fit, stable softmax) beside them, and say where and\n"
    "why the two columns part. About 6 seconds for the 2 x 20,000 passes."
)
EXAMPLE = "tinygrad-moons reproduce"
PASSES = 20000  # the post's num_passes
EVERY = 1000  # the post prints every 1000th pass
EPSILON, REG = 0.01, 0.01  # the post's epsilon and reg_lambda
AGREE = 1e-9  # two correct implementations agree to this before the chaos (docs/reproduce.md)
SPIKE = 1.1  # a loss this many times the lowest one so far is a spike


@dataclass(frozen=True)
class Comparison:
    """Where two loss curves of the same network part (``compare``)."""

    early_gap: float  # largest relative gap over the first EVERY passes (before ``parted``)
    parted: int | None  # first pass whose relative gap exceeds AGREE; None: never
    spikes: tuple[int, int, int] | None  # (first, last, highest) spiking pass after EVERY
    end_gap: float  # relative gap of the last two losses taken as unordered pairs
    cycle: tuple[float, float] | None  # (low, high) when the last two losses alternate
    same_phase: bool  # the last losses closer in order than swapped: the same phase


def compare(post: np.ndarray, autodiff: np.ndarray) -> Comparison:
    """How ``autodiff``'s losses follow ``post``'s, pass by pass (equal lengths)."""
    post, autodiff = np.asarray(post), np.asarray(autodiff)
    gap = np.abs(autodiff - post) / np.abs(post)
    beyond = np.flatnonzero(gap > AGREE)
    parted = int(beyond[0]) if beyond.size else None
    early = min(EVERY, parted if parted is not None else len(gap))
    early_gap = float(gap[:early].max(initial=0.0))
    later = post[EVERY:]
    lowest = np.minimum.accumulate(later)
    spiking = np.flatnonzero(later[1:] > SPIKE * lowest[:-1]) + 1
    spikes = None
    if spiking.size:
        highest = spiking[np.argmax(later[spiking])]
        spikes = (int(spiking[0]) + EVERY, int(spiking[-1]) + EVERY, int(highest) + EVERY)
    ours, theirs = np.sort(autodiff[-2:]), np.sort(post[-2:])
    end_gap = float(np.max(np.abs(ours - theirs) / np.abs(theirs)))
    alternating = period_two(post)
    cycle = (float(min(alternating)), float(max(alternating))) if alternating else None
    in_order = np.max(np.abs(autodiff[-2:] - post[-2:]) / np.abs(post[-2:]))
    swapped = np.max(np.abs(autodiff[-2:][::-1] - post[-2:]) / np.abs(post[-2:]))
    same_phase = bool(in_order <= swapped)  # rounding leaves an in-order gap, ~1e-9 here
    return Comparison(early_gap, parted, spikes, end_gap, cycle, same_phase)


def explain(comparison: Comparison, post: np.ndarray) -> list[str]:
    """The comparison in sentences, one bullet per way the two runs differ."""
    c = comparison
    early = min(EVERY, c.parted) if c.parted is not None else None
    agreed = f"passes 0-{early - 1}" if early is not None else "every pass"
    lines = [
        f"- {agreed}: equal to {c.early_gap:.1e} relative or better. The two differ at all"
        " only in rounding: autodiff's softmax subtracts each row's largest logit before"
        " exp (the stable softmax; the post's exp(z2) / sum exp(z2) does not) and its"
        " backward pass sums in its own order, so the last bits differ from the first pass."
    ]
    if c.parted is not None:
        why = "the dynamics magnify the last-bit differences"
        if c.spikes is not None:
            first, last, highest = c.spikes
            why = (
                f"the run is entering a chaotic transient: between passes {first} and {last}"
                f" the loss spikes (up to {post[highest]:f} at pass {highest} in the post's"
                " run) and falls back, and each spike magnifies the last-bit differences"
            )
        lines.append(f"- pass {c.parted}: the gap passes {AGREE:.0e}; {why}.")
    if c.cycle is not None and c.end_gap <= 1e-8:
        low, high = c.cycle
        phase = (
            "in the same phase"
            if c.same_phase
            else "in opposite phases: where one prints the high value the other prints the"
            " low one. Which phase a run ends in is set by rounding (numpy's BLAS, the"
            " CPU), so another machine may print either value in either column"
        )
        lines.append(
            f"- the end: both settle into the same period-2 cycle, the loss alternating"
            f" {low:.7f} / {high:.7f} (equal as unordered pairs to {c.end_gap:.1e}), {phase}."
        )
    elif c.end_gap <= 1e-8:
        lines.append(f"- the end: both settle on the same loss (equal to {c.end_gap:.1e}).")
    else:
        lines.append(
            f"- the end: the two runs end {c.end_gap:.1e} apart: after a chaotic stretch"
            " where a run ends is decided by rounding, and both ends are right."
        )
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_hidden(parser)


def run(args: argparse.Namespace) -> int:
    X, y = data.make_moons()
    hidden = args.hidden
    print(
        f"The post's build_model({hidden}, print_loss=True): a 2-{hidden}-2 tanh network, batch"
        f" gradient descent with epsilon {EPSILON:g} and reg_lambda {REG:g}, {PASSES} passes"
        " over make_moons(200, noise=0.20) after np.random.seed(0)."
    )
    print("\nBy the post's own formulas (tinygrad_moons.reference), as the post prints them:")
    _, post = reference.train(X, y, hidden, epsilon=EPSILON, reg=REG, passes=PASSES)
    for i in range(0, PASSES, EVERY):
        print("Loss after iteration %i: %f" % (i, post[i]))  # noqa: UP031 (the post's format)
    print(f"\nBeside them, the same network by autodiff (fit on nn.MLP([2, {hidden}, 2], seed=0)):")
    model = nn.MLP([2, hidden, 2], seed=0)
    history = fit(model, X, y, epochs=PASSES, lr=EPSILON, reg=REG, progress=None)  # bar on a tty
    autodiff = np.asarray(history.loss)
    print(f"{'iteration':>9}  {'post':>8}  {'autodiff':>8}  {'relative gap':>12}")
    for i in range(0, PASSES, EVERY):
        gap = abs(autodiff[i] - post[i]) / post[i]
        print(f"{i:>9}  {post[i]:f}  {autodiff[i]:f}  {gap:>12.1e}")
    print("\nWhere and why they part:")
    for line in explain(compare(post, autodiff), post):
        print(line)
    return 0
