"""tinygrad_moons: a small reverse-mode autodiff framework on numpy, built around the
2-H-2 network that classifies scikit-learn's two moons.

``import tinygrad_moons`` loads numpy and the numpy-only layers; the layers that need
scikit-learn, matplotlib or tqdm (data, train, plot, estimator, cli) are imported on use;
``optim`` imports scipy only inside ``minimize``. The layers are listed, and checked, in
``tests/test_layers.py``.
"""

# tensor_methods first: it attaches Tensor's operators (see its docstring), which every
# later module uses.
from tinygrad_moons import tensor_methods  # noqa: F401, I001 (before the rest)
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
