"""Why a network decides what it decides: attributions with Captum's names and call shape.

Each explainer wraps ``forward_func`` (a glassnet Module, or any function from a Tensor (N, ...)
to a Tensor (N, classes), (N, 1) or (N,)) and its ``attribute(inputs, target=None, ...)`` returns
a NumPy array of the inputs' shape: how much each input value counts for the score of the
``target`` class. The model runs in evaluation mode and is left exactly as it was (its mode,
BatchNorm's running statistics, every parameter's ``.grad``).

- gradients: :class:`Saliency` (|df/dx|), :class:`InputXGradient` (x * df/dx)
- integrated: :class:`IntegratedGradients` (Captum's five quadrature rules, the convergence delta)
- noise: :class:`NoiseTunnel` (SmoothGrad, SmoothGrad-squared, VarGrad around any explainer)

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
from .gradients import InputXGradient, Saliency
from .integrated import IntegratedGradients
from .noise import NoiseTunnel

__all__ = ["Attribution", "InputXGradient", "IntegratedGradients", "NoiseTunnel", "Saliency"]

# perturbation, Grad-CAM, permutation importance, attention maps
from .attention import attention_maps  # noqa: E402
from .gradcam import LayerGradCam, interpolate  # noqa: E402
from .importance import permutation_importance  # noqa: E402
from .perturbation import FeatureAblation, Occlusion  # noqa: E402

__all__ += ["FeatureAblation", "LayerGradCam", "Occlusion", "attention_maps", "interpolate", "permutation_importance"]
