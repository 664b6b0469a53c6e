"""The write-up's baseline: scikit-learn's LogisticRegressionCV and its straight boundary.

Finding: the straight boundary classifies 85.0% of the training points and 86.6% of the
held-out points right.

As the write-up did it: ``LogisticRegressionCV()`` with its defaults, fitted to the
write-up's 200 moons; held-out accuracy is on 1000 fresh points from the same generator.

    python examples/logistic_regression.py
"""

from __future__ import annotations

import warnings

import _common
import numpy as np
from sklearn.linear_model import LogisticRegressionCV

from tinygrad_moons import data, plot


def main(argv: list[str] | None = None) -> dict:
    args = _common.parser(__doc__).parse_args(argv)
    X, y = data.make_moons()
    X_test, y_test = data.held_out_moons()
    with warnings.catch_warnings():  # new defaults announced; the old ones are the write-up's
        warnings.simplefilter("ignore", FutureWarning)
        classifier = LogisticRegressionCV().fit(X, y)
    train = float(np.mean(classifier.predict(X) == y))
    test = float(np.mean(classifier.predict(X_test) == y_test))
    print("LogisticRegressionCV on the write-up's 200 moons:")
    _common.print_table(
        ["train", "held-out", "C chosen"],
        [(f"{train:.1%}", f"{test:.1%}", float(classifier.C_[0]))],
    )
    ax = plot.decision_boundary(
        classifier.predict,
        X,
        y,
        title=f"Logistic Regression: train {train:.1%}, held-out {test:.1%}",
    )
    path = _common.save(ax.figure, args.out_dir, "logistic_regression.png")
    holds = 0.8 < train < 0.9 and 0.8 < test < 0.9
    _common.verdict(
        holds,
        "a straight line gets 80% to 90% of the moons right, training and held-out",
        f"it gets {train:.1%} and {test:.1%}",
    )
    return {"finding_holds": holds, "train_accuracy": train, "test_accuracy": test, "figure": path}


if __name__ == "__main__":
    _common.exit_with(main())
