"""``tinygrad-moons compile``: print the generated Python of the write-up network's step."""

from __future__ import annotations

import argparse

from tinygrad_moons import data, reference, three_gradients
from tinygrad_moons.cli.options import add_hidden, add_reg
from tinygrad_moons.graph import capture
from tinygrad_moons.tensor import Tensor

DESCRIPTION = (
    "Capture the 2-H-2 summed objective on the write-up's data with graph.capture and\n"
    "print the straight-line numpy it generated: forward(), then backward(), which\n"
    "reads like the write-up's delta3/delta2 step (replay runs exactly this code)."
)
EXAMPLE = "tinygrad-moons compile --hidden 3"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_hidden(parser)
    add_reg(parser)


def run(args: argparse.Namespace) -> int:
    X, y = data.make_moons()
    X = Tensor(X)
    params = three_gradients.as_tensors(reference.init_params(args.hidden, seed=0))
    step = capture(
        lambda: three_gradients.summed_objective(params, X, y, args.reg), names={"X": X, **params}
    )
    print(
        f"# The training step of the 2-{args.hidden}-2 network, as graph.capture generated it "
        f"from\n# F.softmax_cross_entropy(tanh(X @ W1 + b1) @ W2 + b2, y, 'sum') "
        f"+ {args.reg:g} / 2 * F.l2(W1, W2)\n"
    )
    print(step.source)
    return 0
