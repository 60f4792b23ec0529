"""nn.Module: registration, traversal, state_dict / load_state_dict, modes, repr."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4, rng=0)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.fc(x))


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = nn.Linear(4, 3, rng=1)
        self.scale = nn.Parameter(np.ones(1, np.float32))

    def forward(self, x):
        return self.decoder(self.encoder(x)) * self.scale


def snapshot(model):
    return {name: array.copy() for name, array in model.state_dict().items()}


def assert_state_equal(model, expected):
    state = model.state_dict()
    assert list(state) == list(expected)
    for name, array in state.items():
        np.testing.assert_array_equal(array, expected[name], err_msg=name)


def test_attribute_assignment_registers_parameters_and_modules():
    model = AutoEncoder()
    assert list(model._parameters) == ["scale"]
    assert list(model._modules) == ["encoder", "decoder"]
    assert model.encoder.fc.weight is model.encoder._modules["fc"]._parameters["weight"]
    assert [name for name, _ in model.named_parameters()] == [
        "scale", "encoder.fc.weight", "encoder.fc.bias", "decoder.weight", "decoder.bias"]
    assert model.num_parameters() == 1 + 3 * 4 + 4 + 4 * 3 + 3


def test_names_and_order_match_pytorch():
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 3), nn.Tanh()),
                         nn.BatchNorm1d(3))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(),
                                 torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Tanh()),
                                 torch.nn.BatchNorm1d(3))
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    for (name, ours_value), their_value in zip(ours.state_dict().items(), theirs.state_dict().values()):
        if their_value.ndim == 2:  # Linear weights: ours is (in, out), PyTorch's (out, in)
            their_value = their_value.T
        assert ours_value.shape == tuple(their_value.shape), name


def test_shared_module_and_parameter_are_yielded_once():
    shared = nn.Linear(3, 3, rng=0)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    params = list(model.parameters())
    assert len(params) == 2
    assert params[0] is shared.weight and params[1] is shared.bias
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert model.num_parameters() == 3 * 3 + 3
    assert len(list(model.modules())) == 3  # the Sequential, the shared Linear, the ReLU
    assert len(list(model.children())) == 2
    # state_dict lists the shared module under both paths, as PyTorch does.
    torch_shared = torch.nn.Linear(3, 3)
    theirs = torch.nn.Sequential(torch_shared, torch.nn.ReLU(), torch_shared)
    assert list(model.state_dict()) == list(theirs.state_dict())


def test_parameter_shared_between_two_modules_is_yielded_once():
    first, second = nn.Linear(2, 2, rng=0), nn.Linear(2, 2, rng=1)
    second.weight = first.weight
    model = nn.Sequential(first, second)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert model.num_parameters() == 4 + 2 + 2


def test_named_modules_children_and_getattr():
    model = AutoEncoder()
    assert [n for n, _ in model.named_modules()] == ["", "encoder", "encoder.fc", "encoder.act", "decoder"]
    assert [n for n, _ in model.named_children()] == ["encoder", "decoder"]
    assert list(model.children()) == [model.encoder, model.decoder]
    with pytest.raises(AttributeError, match="'AutoEncoder' object has no attribute 'missing'"):
        model.missing


def test_reassigning_and_deleting_registered_names():
    model = AutoEncoder()
    new_decoder = nn.Linear(4, 3, rng=5)
    model.decoder = new_decoder
    assert model._modules["decoder"] is new_decoder
    model.decoder = None  # an empty slot, as in PyTorch
    assert model.decoder is None
    assert [n for n, _ in model.named_modules()] == ["", "encoder", "encoder.fc", "encoder.act"]
    del model.scale
    assert "scale" not in model._parameters
    assert [n for n, _ in model.named_parameters()] == ["encoder.fc.weight", "encoder.fc.bias"]
    model.plain = 3  # plain attributes are not registered
    assert model.plain == 3 and "plain" not in model._parameters


def test_assigning_a_non_parameter_to_a_parameter_slot_is_a_type_error():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign Tensor to parameter 'weight'.*Parameter or None"):
        layer.weight = gn.Tensor(np.ones((2, 2), np.float32))
    model = AutoEncoder()
    with pytest.raises(TypeError, match="cannot assign ndarray to sub-module 'encoder'.*Module or None"):
        model.encoder = np.zeros(3)
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.shape == (2, 2)
    assert isinstance(model.encoder, Encoder)


def test_forgetting_super_init_gives_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first in Broken.__init__"):
        Broken()


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        nn.Module()(np.ones(2))


def test_buffers_are_saved_but_not_learned():
    module = nn.Module()
    module.weight = nn.Parameter(np.ones(2, np.float32))
    module.register_buffer("running_mean", np.arange(3.0))
    assert [n for n, _ in module.named_parameters()] == ["weight"]
    assert [n for n, _ in module.named_buffers()] == ["running_mean"]
    np.testing.assert_array_equal(module.running_mean, [0.0, 1.0, 2.0])
    module.running_mean = np.array([5.0, 6.0, 7.0])  # assignment replaces the buffer
    np.testing.assert_array_equal(module.state_dict()["running_mean"], [5.0, 6.0, 7.0])
    with pytest.raises(TypeError, match="buffer 'running_mean' must be a numpy ndarray or None, got list"):
        module.running_mean = [1, 2, 3]
    with pytest.raises(TypeError, match="pass tensor.data"):
        module.register_buffer("other", gn.Tensor(np.ones(2)))
    with pytest.raises(ValueError, match="contain no '.'"):
        module.register_buffer("a.b", np.ones(2))
    with pytest.raises(ValueError, match="already has an attribute 'weight'"):
        module.register_buffer("weight", np.ones(2))
    with pytest.raises(TypeError, match="expects a Parameter or None, got ndarray"):
        module.register_parameter("bias", np.ones(2))
    assert list(module.state_dict()) == ["weight", "running_mean"]


def test_state_dict_holds_copies():
    layer = nn.Linear(2, 3, rng=0)
    state = layer.state_dict()
    state["weight"][...] = 7.0
    assert not np.any(layer.weight.data == 7.0)
    assert state["weight"].dtype == np.float32 and state["weight"].shape == (2, 3)


def test_state_dict_round_trip_gives_the_same_outputs(rng):
    source, target = AutoEncoder(), AutoEncoder()
    target.decoder.reset_parameters(rng=42)
    x = rng.normal(size=(5, 3))
    assert not np.allclose(source(x).data, target(x).data)
    weight_array = target.decoder.weight.data
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(target(x).data, source(x).data)
    assert target.decoder.weight.data is weight_array  # copied in place: optimizers keep working
    assert_state_equal(target, source.state_dict())


def test_load_casts_dtype_and_accepts_tensors_and_lists():
    layer = nn.Linear(2, 2, rng=0)
    weight = np.array([[0.1, 0.2], [0.3, 0.4]])  # float64
    layer.load_state_dict({"weight": gn.Tensor(weight), "bias": [1, 2]})
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, weight.astype(np.float32))
    np.testing.assert_array_equal(layer.bias.data, [1.0, 2.0])
    batch_norm = nn.BatchNorm1d(2)
    state = batch_norm.state_dict()
    state["num_batches_tracked"] = np.array(4.0)
    batch_norm.load_state_dict(state)
    assert batch_norm.num_batches_tracked.dtype == np.int64 and int(batch_norm.num_batches_tracked) == 4


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("decoder.bias"), r"missing keys: 'decoder.bias'"),
    (lambda s: s.update({"decoder.extra": np.ones(2)}), r"unexpected keys: 'decoder.extra'"),
    (lambda s: s.update({"encoder.fc.weight": np.ones((4, 3))}),
     r"shape mismatch for 'encoder.fc.weight': the state_dict has shape \(4, 3\), the model has shape \(3, 4\)"),
    (lambda s: s.update({"scale": np.ones(2)}),
     r"shape mismatch for 'scale': the state_dict has shape \(2,\), the model has shape \(1,\)"),
])
def test_failed_load_names_the_problem_and_changes_nothing(change, message):
    target = AutoEncoder()
    before = snapshot(target)
    state = AutoEncoder().state_dict()
    for array in state.values():
        array += 1.0  # every value differs from the target's
    change(state)
    with pytest.raises(ValueError, match=message):
        target.load_state_dict(state)
    assert_state_equal(target, before)


def test_failed_load_reports_every_problem_at_once():
    layer = nn.Linear(2, 3)
    before = snapshot(layer)
    with pytest.raises(ValueError) as error:
        layer.load_state_dict({"weight": np.zeros((3, 2)), "other": np.zeros(1)})
    text = str(error.value)
    assert "missing keys: 'bias'" in text and "unexpected keys: 'other'" in text
    assert "the state_dict has shape (3, 2), the model has shape (2, 3)" in text
    assert_state_equal(layer, before)


def test_non_strict_load_reports_and_loads_the_rest():
    layer = nn.Linear(2, 3, rng=0)
    bias = np.array([1.0, 2.0, 3.0], np.float32)
    result = layer.load_state_dict({"bias": bias, "other": np.zeros(1)}, strict=False)
    assert result.missing_keys == ["weight"] and result.unexpected_keys == ["other"]
    np.testing.assert_array_equal(layer.bias.data, bias)
    with pytest.raises(ValueError, match="shape mismatch for 'bias'"):
        layer.load_state_dict({"bias": np.zeros(4)}, strict=False)  # shapes are always checked
    with pytest.raises(TypeError, match="mapping from names to arrays, got list"):
        layer.load_state_dict([("bias", bias)])
    with pytest.raises(TypeError, match="'bias' is not numeric"):
        layer.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.array(["a", "b", "c"])})
    np.testing.assert_array_equal(layer.bias.data, bias)


def test_load_state_dict_from_pytorch_after_transposing_linear_weights(rng):
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    ours = nn.Sequential(nn.Linear(3, 5, dtype=np.float64), nn.Tanh(), nn.Linear(5, 2, dtype=np.float64))
    state = {k: (v.T if k.endswith("weight") else v).detach().numpy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_train_and_eval_propagate_recursively():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), AutoEncoder()))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert [m.training for m in model.modules()] == [False] * 9
    model.train()
    assert [m.training for m in model.modules()] == [True] * 9
    model[1].train(False)
    assert [m.training for _, m in model.named_modules()] == [True, True] + [False] * 7
    with pytest.raises(TypeError, match="mode must be True or False, got str"):
        model.train("no")


def test_zero_grad_clears_every_parameter_gradient(rng):
    model = AutoEncoder()
    model(rng.normal(size=(4, 3))).sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and g.shape == p.shape for g, p in zip(grads, model.parameters()))
    assert sum(float(np.abs(g).sum()) for g in grads) > 0
    model.zero_grad()
    assert [p.grad for p in model.parameters()] == [None] * 5


def test_repr_matches_pytorch_layout():
    ours = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Sequential(nn.Linear(4, 1, bias=False), nn.Sigmoid()))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(),
                                 torch.nn.Sequential(torch.nn.Linear(4, 1, bias=False), torch.nn.Sigmoid()))
    assert repr(ours) == repr(theirs)
    assert repr(AutoEncoder()) == (
        "AutoEncoder(\n"
        "  (encoder): Encoder(\n"
        "    (fc): Linear(in_features=3, out_features=4, bias=True)\n"
        "    (act): Tanh()\n"
        "  )\n"
        "  (decoder): Linear(in_features=4, out_features=3, bias=True)\n"
        ")"
    )
    assert repr(nn.Module()) == "Module()"


def test_parameter_is_reexported():
    assert nn.Parameter is gn.Parameter
    p = nn.Parameter(np.zeros(3))
    assert p.requires_grad and p.dtype == np.float64


def test_deepcopy_gives_an_independent_model(rng):
    import copy

    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.ReLU())
    clone = copy.deepcopy(model)
    x = rng.normal(size=(6, 3))
    np.testing.assert_array_equal(clone(x).data, model(x).data)
    clone[0].weight.data[...] = 0.0
    assert np.abs(model[0].weight.data).sum() > 0
    assert clone[0].weight is not model[0].weight
    np.testing.assert_array_equal(clone[1].running_mean, model[1].running_mean)
    assert clone[1].running_mean is not model[1].running_mean
