"""``tinygrad-moons graph``: draw the computation graph of the write-up's loss."""

from __future__ import annotations

import argparse

from tinygrad_moons import data, graph, plot, reference, three_gradients
from tinygrad_moons.cli.options import add_hidden, add_out, add_reg
from tinygrad_moons.tensor import Tensor, trace_backward

DESCRIPTION = (
    "Build the 2-H-2 summed objective on the write-up's data, run backward, and draw\n"
    "its graph from the inputs X and y down to the loss: each op with its output's shape\n"
    "and the norm of the gradient that reached it (matplotlib only)."
)
EXAMPLE = "tinygrad-moons graph --hidden 3 --out graph.png"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_hidden(parser)
    add_reg(parser)
    add_out(parser, "graph.png")


def run(args: argparse.Namespace) -> int:
    X, y = data.make_moons()
    params = three_gradients.as_tensors(reference.init_params(args.hidden, seed=0))
    X_tensor = Tensor(X)
    # graph capture's recording: each op with the arguments it was applied to, so that
    # the drawing shows the inputs that carry no gradient (X, y, the constant reg/2) too.
    (objective,), applications = graph.record(
        lambda: three_gradients.summed_objective(params, X_tensor, y, args.reg)
    )
    gradients = trace_backward(objective)
    names = {**params, "X": X_tensor, "y": y}
    layout = plot.graph_layout(
        objective,
        names=names,
        gradients=gradients,
        arguments={ctx: args for ctx, args, _ in applications},
    )
    print(
        f"The summed objective of the 2-{args.hidden}-2 network: {len(gradients)} ops, "
        f"{len(layout.leaves)} parameters"
    )
    for label in layout.labels.values():
        print("  " + label.replace("\n", "  "))
    title = (
        f"Computation graph of the write-up's summed loss: 2-{args.hidden}-2 network, "
        f"reg {args.reg:g}, at its initial weights"
    )
    figure = plot.computation_graph(layout, title=title)
    print(f"Graph written to {plot.save(figure, args.out)}")
    return 0
