"""tinygrad_moons: a small reverse-mode autodiff framework on numpy, built around the
2-H-2 network that classifies scikit-learn's two moons.

The files, by layer; imports flow one way, downwards
(``tests/project/test_import_layers.py`` checks it):

    engine        tensor.py  ops.py  functional.py  gradcheck.py
                  graph.py  codegen/  validate.py                       numpy alone
    models        nn.py  optim.py  train.py  checkpoint.py  seeding.py
                  atomic.py
    applications  data.py  plot.py  estimator.py  sweep.py  reference.py  three_gradients.py
    interfaces    cli/ (one module per command)  bench/  __main__.py

The modules sit side by side, as their public import paths (``tinygrad_moons.functional``,
``tinygrad_moons.nn``, ...) have them. ``import tinygrad_moons`` loads numpy and the
numpy-only layers; the modules that need scikit-learn, matplotlib or tqdm (data, train,
plot, estimator, cli) are imported on use; ``optim`` imports scipy only inside
``minimize``.
"""

from tinygrad_moons import functional, nn, ops, optim, reference
from tinygrad_moons.gradcheck import GradcheckError, gradcheck
from tinygrad_moons.tensor import Function, Tensor, no_grad

__version__ = "0.1.0"

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "__version__",
    "functional",
    "gradcheck",
    "nn",
    "no_grad",
    "ops",
    "optim",
    "reference",
]
