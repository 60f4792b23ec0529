"""The activation registry (glassnet.functional.ACTIVATIONS) and what is built from it: every
entry's function, layer class, parameters and aliases; the errors of get_activation and of the
parameter checks; nn.make_activation; the layer classes' constructors, reprs, configs and docs; a
saved model with each activation layer loads back; layers against their PyTorch twins."""

import inspect

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional.activations
import glassnet.nn.activation
from activation_twins import TWINS, cases, glassnet_and_torch, registered_names
from glassnet import functional as F
from glassnet import nn
from oracle import check_against_torch, check_finite_differences

NAMES = registered_names()
CASES = cases()


def test_the_registry_lists_every_activation_in_order():
    # the course's activations and those added since, in the order they were registered; a new
    # entry needs no line here (its twin in activation_twins.py is what the tests require)
    known = ["step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softmax", "log_softmax",
             "softplus", "silu", "gelu", "mish", "identity"]
    assert [name for name in NAMES if name in known] == known
    assert list(F.ACTIVATIONS) == NAMES[:2] + ["logistic"] + NAMES[2:]
    assert F.ACTIVATIONS is glassnet.functional.activations.ACTIVATIONS
    assert all(isinstance(entry, F.Activation) for entry in F.ACTIVATIONS.values())


def test_every_registered_activation_has_a_pytorch_twin():
    assert sorted(TWINS) == sorted(NAMES)  # a new entry adds its twin to tests/activation_twins.py


@pytest.mark.parametrize("name", NAMES)
def test_entry(name):
    entry = F.get_activation(name)
    assert entry.name == name == entry.function.__name__
    assert getattr(F, name) is entry.function
    assert name in F.__all__ and name in glassnet.functional.activations.__all__
    # the parameters are the function's keyword arguments, with their defaults
    signature = list(inspect.signature(entry.function).parameters.values())
    assert {p.name: p.default for p in signature[1:]} == entry.parameters
    assert entry.init in ("he_uniform", "xavier_uniform")
    assert isinstance(entry.hidden, bool) and isinstance(entry.aliases, tuple)
    # its layer class, in glassnet.nn under the entry's module name
    layer_class = getattr(nn, entry.module)
    assert entry.module in nn.__all__ and layer_class.activation is entry
    assert layer_class.__module__ == "glassnet.nn.activation" and layer_class.__name__ == entry.module
    assert getattr(glassnet.nn.activation, entry.module) is layer_class
    assert inspect.getdoc(entry.function) in layer_class.__doc__
    assert str(inspect.signature(layer_class)) == "(" + ", ".join(
        f"{key}={value!r}" for key, value in entry.parameters.items()) + ")"


def test_modules_parameters_inits_and_flags():
    table = {name: (F.ACTIVATIONS[name].module, F.ACTIVATIONS[name].parameters, F.ACTIVATIONS[name].init,
                    F.ACTIVATIONS[name].hidden) for name in NAMES}
    expected = {
        "step": ("Step", {}, "xavier_uniform", False),
        "sigmoid": ("Sigmoid", {}, "xavier_uniform", True),
        "tanh": ("Tanh", {}, "xavier_uniform", True),
        "relu": ("ReLU", {}, "he_uniform", True),
        "leaky_relu": ("LeakyReLU", {"alpha": 0.01}, "he_uniform", True),
        "elu": ("ELU", {"alpha": 1.0}, "he_uniform", True),
        "softmax": ("Softmax", {"axis": -1}, "xavier_uniform", False),
        "log_softmax": ("LogSoftmax", {"axis": -1}, "xavier_uniform", False),
        "softplus": ("Softplus", {}, "xavier_uniform", True),
        "silu": ("SiLU", {}, "he_uniform", True),
        "gelu": ("GELU", {}, "he_uniform", True),
        "mish": ("Mish", {}, "he_uniform", True),
        "identity": ("Identity", {}, "xavier_uniform", True),
    }
    assert {name: table[name] for name in expected} == expected


def test_aliases():
    assert F.get_activation("logistic") is F.get_activation("sigmoid")
    assert F.get_activation("sigmoid").aliases == ("logistic",)
    assert [(name, entry.aliases) for name, entry in F.ACTIVATIONS.items() if entry.aliases] == [
        ("sigmoid", ("logistic",)), ("logistic", ("logistic",))]
    assert type(nn.make_activation("logistic")) is nn.Sigmoid


def test_hidden_activation_names():
    assert F.hidden_activation_names() == ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "silu",
                                           "gelu", "mish", "identity")


def test_unknown_names_and_wrong_types():
    with pytest.raises(ValueError, match=r"unknown activation 'swish'; the known ones are step, sigmoid, "
                                         r"logistic, tanh, .*, identity$"):
        F.get_activation("swish")
    with pytest.raises(ValueError, match="unknown activation 'ReLU'"):
        F.get_activation("ReLU")  # the class name is not the registry name
    for bad in (None, 3, F.relu):
        with pytest.raises(TypeError, match=f"an activation is named by a str, got {type(bad).__name__}"):
            F.get_activation(bad)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.make_activation("swish")


def test_parameter_checks():
    leaky = F.get_activation("leaky_relu")
    assert leaky.check_parameters() == {"alpha": 0.01}
    assert leaky.check_parameters(alpha=1) == {"alpha": 1.0}
    assert type(leaky.check_parameters(alpha=np.float32(0.5))["alpha"]) is float
    assert F.get_activation("softmax").check_parameters(axis=np.int64(0)) == {"axis": 0}
    for parameters, error, message in [
        ({"alpha": "a"}, TypeError, "alpha must be a real number, got str 'a'"),
        ({"alpha": True}, TypeError, "alpha must be a real number, got bool True"),
        ({"alpha": float("nan")}, ValueError, "alpha must be finite, got nan"),
        ({"alpha": float("inf")}, ValueError, "alpha must be finite, got inf"),
        ({"beta": 1.0}, TypeError, r"leaky_relu takes the parameters \['alpha'\], got \['beta'\]"),
    ]:
        with pytest.raises(error, match=message):
            leaky.check_parameters(**parameters)
    with pytest.raises(TypeError, match="axis must be an int, got float 1.0"):
        F.get_activation("log_softmax").check_parameters(axis=1.0)
    with pytest.raises(TypeError, match=r"relu takes the parameters \[\], got \['alpha'\]"):
        F.get_activation("relu").check_parameters(alpha=0.1)


def test_make_activation():
    layer = nn.make_activation("leaky_relu", alpha=0.2)
    assert type(layer) is nn.LeakyReLU and layer.alpha == 0.2 and repr(layer) == "LeakyReLU(alpha=0.2)"
    assert repr(nn.make_activation("softmax")) == "Softmax(axis=-1)"
    assert [type(nn.make_activation(name)).__name__ for name in NAMES] == [F.ACTIVATIONS[n].module for n in NAMES]
    assert nn.make_activation("relu") is not nn.make_activation("relu")  # a new layer each time
    with pytest.raises(TypeError, match="alpha must be a real number"):
        nn.make_activation("elu", alpha="big")
    with pytest.raises(TypeError, match=r"tanh takes the parameters \[\], got \['alpha'\]"):
        nn.make_activation("tanh", alpha=0.1)


def test_layer_constructors():
    assert nn.LeakyReLU(0.3).alpha == 0.3 and nn.Softmax(0).axis == 0
    with pytest.raises(TypeError, match=r"LeakyReLU takes 1 positional argument\(s\) \('alpha',\), got 2"):
        nn.LeakyReLU(0.1, 0.2)
    with pytest.raises(TypeError, match=r"ReLU takes 0 positional argument\(s\) \(\), got 1"):
        nn.ReLU(0.1)
    with pytest.raises(TypeError, match="ELU got two values for alpha"):
        nn.ELU(0.1, alpha=0.2)
    with pytest.raises(TypeError, match=r"softmax takes the parameters \['axis'\], got \['dim'\]"):
        nn.Softmax(dim=0)


def test_a_layer_reads_its_parameters_when_called(rng):
    layer = nn.LeakyReLU(0.1)
    layer.alpha = 0.5
    np.testing.assert_allclose(layer(np.array([-2.0])).data, [-1.0])
    assert layer.get_config() == {"alpha": 0.5}


@pytest.mark.parametrize("case", CASES)
def test_layer_matches_its_function_and_pytorch(case, rng):
    name, parameters = CASES[case]
    layer = nn.make_activation(name, **parameters)
    function, twin = glassnet_and_torch(name, parameters)
    x = 3 * rng.normal(size=(3, 4, 5))
    x[np.abs(x) < 1e-2] = 0.5  # away from the kinks of step, relu and leaky_relu
    np.testing.assert_array_equal(layer(x).data, function(x).data)
    check_against_torch(layer, twin, x)
    check_finite_differences(layer, x)
    assert list(layer.parameters()) == [] and layer.state_dict() == {}


@pytest.mark.parametrize("case", CASES)
def test_a_saved_model_with_each_activation_loads_back(case, tmp_path, rng):
    name, parameters = CASES[case]
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.make_activation(name, **parameters), nn.Linear(4, 2, rng=1))
    path = tmp_path / "model.safetensors"
    gn.save(model, path)
    loaded = gn.load(path)
    assert repr(loaded) == repr(model)
    assert type(loaded[1]) is getattr(nn, F.ACTIVATIONS[name].module)
    assert loaded[1].get_config() == F.get_activation(name).check_parameters(**parameters)
    x = rng.normal(size=(5, 3))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_register(monkeypatch):
    registry = {}
    monkeypatch.setattr(glassnet.functional.activations, "ACTIVATIONS", registry)
    register = glassnet.functional.activations.register

    @register("hardtanh", module="Hardtanh", init="xavier_uniform", aliases=("clip",))
    def hardtanh(x, low: float = -1.0, high: float = 1.0):
        return gn.ops.clip(gn.Tensor(x), low, high)

    entry = registry["hardtanh"]
    assert registry == {"hardtanh": entry, "clip": entry}
    assert entry == F.Activation("hardtanh", hardtanh, "Hardtanh", {"low": -1.0, "high": 1.0}, "xavier_uniform",
                                 True, ("clip",))
    # the layer class nn builds for an entry
    layer_class = glassnet.nn.activation._layer_class(entry)
    layer = layer_class(high=2)
    assert repr(layer) == "Hardtanh(low=-1.0, high=2.0)" and str(inspect.signature(layer_class)) == \
        "(low=-1.0, high=1.0)"
    np.testing.assert_array_equal(layer(np.array([-3.0, 0.5, 3.0])).data, [-1.0, 0.5, 2.0])
    with pytest.raises(ValueError, match="activation 'clip' is registered twice"):
        register("clip", module="Clip", init="xavier_uniform")(hardtanh)
    with pytest.raises(TypeError, match="activation scaled: the default of scale must be a float or an int, "
                                        "got None"):
        register("scaled", module="Scaled", init="he_uniform")(lambda x, scale=None: x)
    with pytest.raises(ValueError, match="activation scaled: init must be 'he_uniform' or 'xavier_uniform', "
                                         "got 'zeros'"):
        register("scaled", module="Scaled", init="zeros")(lambda x: x)


def test_an_entry_is_callable_and_its_defaults_are_read_only():
    x = np.array([-1.0, 2.0])
    np.testing.assert_array_equal(F.ACTIVATIONS["leaky_relu"](x, alpha=0.5).numpy(), [-0.5, 2.0])
    with pytest.raises(TypeError):
        F.get_activation("leaky_relu").parameters["alpha"] = 5.0
    assert nn.LeakyReLU().alpha == 0.01


def test_an_activation_registered_after_import_works_everywhere(monkeypatch, tmp_path):
    """A user's own entry: its layer class is made on first use, nn.mlp, saving and loading, the
    estimators and the CLI's choices all take it."""
    from sklearn.exceptions import ConvergenceWarning

    from glassnet.sklearn import MLPClassifier

    registry = dict(glassnet.functional.activations.ACTIVATIONS)
    monkeypatch.setattr(glassnet.functional.activations, "ACTIVATIONS", registry)

    @glassnet.functional.activations.register("hardtanh", module="Hardtanh", init="xavier_uniform")
    def hardtanh(x, limit: float = 1.0):
        return gn.ops.clip(gn.Tensor(x), -limit, limit)

    layer = nn.make_activation("hardtanh", limit=2)
    assert type(layer) is nn.Hardtanh is glassnet.nn.activation.Hardtanh and repr(layer) == "Hardtanh(limit=2.0)"
    np.testing.assert_array_equal(layer(np.array([-3.0, 0.5, 3.0])).numpy(), [-2.0, 0.5, 2.0])
    model = nn.mlp(2, (3,), 2, activation="hardtanh", rng=0)
    gn.save(model, tmp_path / "m.safetensors")
    assert type(gn.load(tmp_path / "m.safetensors")[1]) is nn.Hardtanh
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    with pytest.warns(ConvergenceWarning):
        estimator = MLPClassifier((3,), activation="hardtanh", max_iter=3).fit(X, y)
    assert type(estimator.model_[1]) is nn.Hardtanh
    with pytest.raises(AttributeError, match="module 'glassnet.nn' has no attribute 'Hardtanhh'"):
        nn.Hardtanhh  # noqa: B018
