"""get_config(): the JSON keyword arguments that rebuild a layer, type(layer)(**config)."""

import json

import numpy as np
import pytest

from glassnet import nn

LAYERS = [
    nn.Linear(3, 2, bias=False, weight_init="he_normal", bias_init="uniform", dtype=np.float64, rng=0),
    nn.Linear(1, 4),
    nn.BatchNorm1d(5, eps=1e-3, momentum=None, affine=False, track_running_stats=False, dtype=np.float64),
    nn.BatchNorm1d(2),
    nn.Dropout(p=0.3, rng=0),
    nn.LeakyReLU(alpha=0.2), nn.ELU(alpha=0.7), nn.Softmax(axis=0), nn.LogSoftmax(axis=1),
    nn.Step(), nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.Softplus(), nn.SiLU(), nn.GELU(), nn.Identity(),
    nn.Sequential(),
]


@pytest.mark.parametrize("layer", LAYERS, ids=repr)
def test_config_is_json_and_rebuilds_the_layer(layer):
    config = layer.get_config()
    assert json.loads(json.dumps(config, allow_nan=False)) == config
    rebuilt = type(layer)(**config)
    assert rebuilt.get_config() == config
    assert repr(rebuilt) == repr(layer)
    assert {key: (array.shape, array.dtype) for key, array in rebuilt.state_dict().items()} == \
        {key: (array.shape, array.dtype) for key, array in layer.state_dict().items()}


def test_configs_hold_the_arguments():
    assert LAYERS[0].get_config() == {"in_features": 3, "out_features": 2, "bias": False,
                                      "weight_init": "he_normal", "bias_init": "uniform",
                                      "dtype": "float64"}
    assert LAYERS[2].get_config() == {"num_features": 5, "eps": 1e-3, "momentum": None, "affine": False,
                                      "track_running_stats": False, "dtype": "float64"}
    assert LAYERS[4].get_config() == {"p": 0.3}
    assert [layer.get_config() for layer in LAYERS[5:9]] == [{"alpha": 0.2}, {"alpha": 0.7}, {"axis": 0},
                                                             {"axis": 1}]


def test_linear_records_initializers_by_name_and_leaves_out_custom_ones():
    assert nn.Linear(2, 2, weight_init="glorot_normal").get_config()["weight_init"] == "xavier_normal"
    config = nn.Linear(2, 2, weight_init=lambda shape, dtype, rng: np.ones(shape, dtype)).get_config()
    assert "weight_init" not in config and config["bias_init"] == "zeros"


def test_default_get_config():
    class NoArguments(nn.Module):
        def forward(self, x):
            return x

    class WithArguments(nn.Module):
        def __init__(self, size):
            super().__init__()
            self.size = size

    assert NoArguments().get_config() == {}
    with pytest.raises(NotImplementedError, match="WithArguments does not define get_config"):
        WithArguments(3).get_config()
