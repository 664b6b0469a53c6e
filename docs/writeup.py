# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Implementing a neural network from scratch, with tinygrad_moons
#
# The post "Implementing a Neural Network from Scratch in Python" as a notebook: its data,
# its logistic-regression baseline, its 2-3-2 tanh/softmax network trained by batch
# gradient descent, and its hidden-size sweep, each written with this library. The post's
# own formulas are `tinygrad_moons.reference`; everything else is the autodiff engine.
# Install with `pip install -e ".[notebook]"`; [reproduce.md](reproduce.md) maps every
# item of the post to a command.
#
# `PASSES` is the post's 20,000 passes of gradient descent; the test suite runs this
# notebook with fewer.

# %%
PASSES = 20000

# %%
# %matplotlib inline
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegressionCV

from tinygrad_moons import data, nn, plot, reference
from tinygrad_moons.train import fit, predict

# %% [markdown]
# ## The data
#
# `np.random.seed(0)` then `make_moons(200, noise=0.20)`, as the post does.

# %%
X, y = data.make_moons()
ax = plot.new_axes(6.0, 4.5)
plot.class_scatter(ax, X, y)
ax.set(title="make_moons(200, noise=0.20)")
ax

# %% [markdown]
# ## Logistic regression draws a straight line

# %%
with warnings.catch_warnings():  # scikit-learn announces new defaults; these are the post's
    warnings.simplefilter("ignore", FutureWarning)
    logistic = LogisticRegressionCV().fit(X, y)
print(f"logistic regression: training accuracy {logistic.score(X, y):.1%}")
plot.decision_boundary(logistic.predict, X, y, title="Logistic regression")

# %% [markdown]
# ## The network, by the post's own formulas
#
# `reference.train` is the post's `build_model`: the naive softmax, the hand-derived
# `delta3` / `delta2` backprop. These are the lines the post prints.

# %%
_, post = reference.train(X, y, 3, passes=PASSES)
for i in range(0, PASSES, 1000):
    print(f"Loss after iteration {i}: {post[i]:f}")

# %% [markdown]
# ## The same network by autodiff
#
# `nn.MLP([2, 3, 2], seed=0)` starts where the post starts; `fit` with its defaults (SGD,
# lr 0.01, reg 0.01, full batches, the summed objective) is the post's training. The
# progress bar is `tqdm.auto`'s, a widget in Jupyter. The two columns agree to about 1e-15
# for the first thousand passes; after a chaotic stretch (passes ~1,200-2,000) rounding
# decides which phase of the same period-2 cycle each ends in.

# %%
model = nn.MLP([2, 3, 2], seed=0)
history = fit(model, X, y, epochs=PASSES)  # a progress bar in Jupyter
autodiff = np.array(history.loss)
for i in range(0, PASSES, 1000):
    print(f"pass {i:5d}: post {post[i]:f}  autodiff {autodiff[i]:f}")

# %%
accuracy = np.mean(predict(model, X) == y)
title = f"Decision boundary for hidden layer size 3 ({accuracy:.1%})"
plot.decision_boundary(lambda P: predict(model, P), X, y, title=title)

# %% [markdown]
# ## Varying the hidden layer size

# %%
sizes = [1, 2, 3, 4, 5, 20, 50]
panels = []
for hidden in sizes:
    net = nn.MLP([2, hidden, 2], seed=0)
    fit(net, X, y, epochs=PASSES, progress=False)
    score = np.mean(predict(net, X) == y)
    panels.append((f"Hidden layer size {hidden} ({score:.1%})", lambda P, n=net: predict(n, P)))
plot.decision_boundary_grid(panels, X, y, title=f"{PASSES} passes each")
