"""tinygrad_moons: a small reverse-mode autodiff framework on numpy, built around the
2-H-2 network that classifies scikit-learn's two moons.

The files, by layer; imports flow one way, downwards
(``tests/project/test_import_layers.py`` checks it):

    engine        tensor.py  ops.py  autograd.py  functional.py  gradcheck.py
                  elementwise.py  arrays.py  array_methods.py  products.py
                  convolution.py  habits.py
                  graph.py  codegen/  validate.py                       numpy alone
    models        nn.py  optim.py  train.py  checkpoint.py  atomic.py
                  parameters.py  curvature.py  reading.py  flat_step.py
    applications  data.py  plot/  estimator.py  sweep.py  reference.py  three_gradients.py
    interfaces    cli/ (one module per command)  bench/  __main__.py

A module that grew several files is a folder whose ``__init__.py`` keeps its public names
(``plot/``, ``bench/``, ``cli/``). ``import tinygrad_moons`` loads numpy and the
numpy-only layers; the modules that need scikit-learn, matplotlib or tqdm (data, train,
plot, estimator, cli) are imported on use; ``optim`` imports scipy only inside
``minimize``, ``curvature`` only when a spectrum is asked for.
"""

from tinygrad_moons import autograd, functional, habits, nn, ops, optim, reference
from tinygrad_moons.autograd import grad
from tinygrad_moons.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tinygrad_moons.tensor import (
    Function,
    Tensor,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

__version__ = "0.1.0"

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "__version__",
    "autograd",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "nn",
    "no_grad",
    "ops",
    "optim",
    "reference",
    "set_grad_enabled",
]


def __getattr__(name: str) -> object:
    """PyTorch's names the package spells another way (``zeros``, ``manual_seed``, ``cat``,
    ...): an AttributeError naming ours (habits.py)."""
    raise habits.missing(__name__, name)
