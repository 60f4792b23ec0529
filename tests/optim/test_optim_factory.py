"""optim.make_optimizer: the one name -> optimizer factory of the CLI and the estimators."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim


def params():
    return [gn.Parameter(np.ones((2, 3))), gn.Parameter(np.zeros(3))]


@pytest.mark.parametrize("name, cls, settings", [
    ("sgd", optim.SGD, dict(momentum=0.0, nesterov=False, weight_decay=0.0)),
    ("momentum", optim.SGD, dict(momentum=0.9, nesterov=False)),
    ("nesterov", optim.SGD, dict(momentum=0.9, nesterov=True)),
    ("adagrad", optim.Adagrad, dict(eps=1e-10)),
    ("rmsprop", optim.RMSprop, dict(alpha=0.99)),
    ("adam", optim.Adam, dict(betas=(0.9, 0.999), weight_decay=0.0)),
    ("adamw", optim.AdamW, dict(weight_decay=0.01)),
    ("adamax", optim.Adamax, dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)),
])
def test_each_name_makes_its_optimizer(name, cls, settings):
    optimizer = optim.make_optimizer(name, params(), 0.05)
    assert type(optimizer) is cls and optimizer.lr == 0.05 and len(optimizer.params) == 2
    assert {key: optimizer.param_groups[0][key] for key in settings} == settings
    assert name in optim.OPTIMIZERS


def test_hyperparameters_override_what_the_name_implies():
    optimizer = optim.make_optimizer("momentum", params(), 0.1, momentum=0.5, weight_decay=1e-3)
    assert optimizer.param_groups[0]["momentum"] == 0.5 and optimizer.param_groups[0]["weight_decay"] == 1e-3
    adamw = optim.make_optimizer("adamw", params(), 0.1, weight_decay=0.0, betas=(0.8, 0.9))
    assert adamw.param_groups[0]["weight_decay"] == 0.0 and adamw.param_groups[0]["betas"] == (0.8, 0.9)


def test_errors():
    with pytest.raises(ValueError, match="optimizer must be 'sgd', 'momentum', 'nesterov', .*, got 'lbfgs'"):
        optim.make_optimizer("lbfgs", params(), 0.1)
    with pytest.raises(TypeError, match="optimizer 'adagrad' \\(Adagrad\\) has no hyperparameter 'momentum'; "
                                        "it takes eps, weight_decay, initial_accumulator_value"):
        optim.make_optimizer("adagrad", params(), 0.1, momentum=0.9)
    with pytest.raises(ValueError, match="lr must be > 0"):
        optim.make_optimizer("adam", params(), 0.0)
