"""Why a network decides what it decides: attributions with Captum's names and call shape.

Each explainer wraps ``forward_func`` (a glassnet Module, or any function from a Tensor (N, ...)
to a Tensor (N, classes), (N, 1) or (N,)) and its ``attribute(inputs, target=None, ...)`` returns
a NumPy array of the inputs' shape: how much each input value counts for the score of the
``target`` class. The model runs in evaluation mode and is left exactly as it was (its mode,
BatchNorm's running statistics, every parameter's ``.grad``).

- gradients: :class:`Saliency` (|df/dx|), :class:`InputXGradient` (x * df/dx)
- integrated: :class:`IntegratedGradients` (Captum's five quadrature rules, the convergence delta)
- noise: :class:`NoiseTunnel` (SmoothGrad, SmoothGrad-squared, VarGrad around any explainer)
- perturbation: :class:`Occlusion` (sliding windows), :class:`FeatureAblation` (groups of features)
- gradcam: :class:`LayerGradCam` (a layer's channels weighted by their mean gradient), :func:`interpolate`
- importance: :func:`permutation_importance` (scikit-learn's, also for a Module)
- attention: :func:`attention_maps` (every MultiheadAttention's weights per head)

Example
-------
>>> import numpy as np
>>> from glassnet import nn
>>> from glassnet.explain import Saliency
>>> model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
>>> x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
>>> Saliency(model).attribute(x, target=[0, 1, 2, 0, 1]).shape
(5, 4)
"""

from __future__ import annotations

from ._common import Attribution
from .attention import attention_maps
from .gradcam import LayerGradCam, interpolate
from .gradients import InputXGradient, Saliency
from .importance import permutation_importance
from .integrated import IntegratedGradients
from .noise import NoiseTunnel
from .perturbation import FeatureAblation, Occlusion

__all__ = ["Attribution", "FeatureAblation", "InputXGradient", "IntegratedGradients", "LayerGradCam", "NoiseTunnel",
           "Occlusion", "Saliency", "attention_maps", "interpolate", "permutation_importance"]
