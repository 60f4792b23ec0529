"""load_state_dict(strict=False) and load_weights(strict=False): the missing and unexpected keys
are exactly PyTorch's ``_IncompatibleKeys`` lists, order included, for the same pair of models;
the shared keys load the same values; wrong shapes are refused whatever ``strict`` says."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.io import ModelFileError

# A model as a tree: a name -> "L" (Linear(3, 3)), "R" (ReLU), "B" (BatchNorm1d(3)) or a nested tree
# (a Sequential). Every Linear has the same shape, so any pair of trees loads without a shape mismatch
# (a Linear's weight and bias under a BatchNorm's names are shape mismatches: those pairs are skipped).
TREES = {
    "three": {"0": "L", "1": "L", "2": "L"},
    "two": {"0": "L", "1": "L"},
    "relu_between": {"0": "L", "1": "R", "2": "L"},
    "nested": {"0": "L", "1": {"0": "L", "1": "R", "2": "L"}, "2": "L"},
    "nested_short": {"0": "L", "1": {"0": "L"}},
    "deep": {"0": {"0": {"0": "L", "1": "L"}, "1": "L"}, "1": "L", "2": {"0": "L"}},
    "body_head": {"body": {"0": "L", "1": "R", "2": "L"}, "head": "L"},
    "body_fc": {"body": {"0": "L", "1": "R", "2": "L"}, "fc": "L"},
    "body_two_heads": {"body": {"0": "L", "1": "R", "2": "L"}, "head": "L", "aux": {"0": "L", "1": "L"}},
    "body_only": {"body": {"0": "L", "1": "R", "2": "L"}},
    "heads_first": {"head": "L", "body": {"0": "L", "1": "R"}, "x": {"y": {"z": "L"}}},
    "batchnorm": {"0": "L", "1": "B", "2": "L"},
    "batchnorm_body": {"body": {"0": "L", "1": "B", "2": "R"}, "head": "L"},
}


def build(tree, library):
    layers = OrderedDict()
    for name, node in tree.items():
        if node == "L":
            layers[name] = nn.Linear(3, 3, dtype=np.float64) if library is nn else torch.nn.Linear(3, 3).double()
        elif node == "R":
            layers[name] = library.ReLU()
        elif node == "B":
            layers[name] = nn.BatchNorm1d(3, dtype=np.float64) if library is nn else torch.nn.BatchNorm1d(3).double()
        else:
            layers[name] = build(node, library)
    return library.Sequential(layers)


def state_pair(tree, order, rng):
    """The same state_dict for glassnet and torch (torch's Linear weights transposed), its keys
    in the model's order, reversed or shuffled."""
    model = build(tree, nn)
    ours = OrderedDict((k, rng.integers(1, 9, size=v.shape) if k.endswith("num_batches_tracked")
                        else rng.normal(size=v.shape)) for k, v in model.state_dict().items())
    keys = list(ours)
    if order == "reversed":
        keys.reverse()
    elif order == "shuffled":
        keys = [keys[i] for i in rng.permutation(len(keys))]
    ours = OrderedDict((k, ours[k]) for k in keys)
    theirs = OrderedDict((k, torch.tensor(v.T.copy() if k.endswith("weight") else v)) for k, v in ours.items())
    return ours, theirs


def shapes(tree):
    return {key: array.shape for key, array in build(tree, nn).state_dict().items()}


# every pair of trees, but those that put a Linear's weight under a BatchNorm's name (a shape
# mismatch, refused whatever strict says: tested below)
PAIRS = [(source, target) for source in sorted(TREES) for target in sorted(TREES)
         if all(shape == shapes(TREES[target]).get(key, shape) for key, shape in shapes(TREES[source]).items())]


@pytest.mark.parametrize("order", ["model", "reversed", "shuffled"])
@pytest.mark.parametrize("source, target", PAIRS)
def test_missing_and_unexpected_keys_are_pytorchs_exactly(source, target, order, rng):
    ours, theirs = state_pair(TREES[source], order, rng)
    model, twin = build(TREES[target], nn), build(TREES[target], torch.nn)
    result = model.load_state_dict(ours, strict=False)
    expected = twin.load_state_dict(theirs, strict=False)
    assert result.missing_keys == expected.missing_keys
    assert result.unexpected_keys == expected.unexpected_keys
    assert tuple(result) == (expected.missing_keys, expected.unexpected_keys)
    state = model.state_dict()
    for key in state.keys() & ours.keys():  # the shared keys got the values
        np.testing.assert_array_equal(state[key], ours[key])


def test_extra_keys_of_a_shared_module_and_of_the_root_in_pytorchs_order():
    shared = {"0": "L"}
    ours_model = build({"a": shared, "b": "L"}, nn)
    twin = build({"a": shared, "b": "L"}, torch.nn)
    ours_model.add_module("c", ours_model.a)  # one module under two names
    twin.add_module("c", twin.a)
    keys = ["c.0.extra", "zz", "a.0.extra", "b.extra", "c.new.weight", "a.0.weight"]
    ours = {k: np.zeros((3, 3)) for k in keys}
    theirs = {k: torch.zeros(3, 3) for k in keys}
    result = ours_model.load_state_dict(ours, strict=False)
    expected = twin.load_state_dict(theirs, strict=False)
    assert result.unexpected_keys == expected.unexpected_keys == ["zz", "a.0.extra", "b.extra", "c.new.weight",
                                                                  "c.0.extra"]
    assert result.missing_keys == expected.missing_keys


def test_keys_pytorch_skips_silently_are_reported_as_unexpected():
    # PyTorch lets "0.weight.extra" (under a parameter's name) and "0" (a sub-module's name)
    # through without a word, even with strict=True; glassnet names them.
    model = nn.Sequential(nn.Linear(3, 3))
    state = {**model.state_dict(), "0.weight.extra": np.zeros(1), "0": np.zeros(1)}
    result = model.load_state_dict(state, strict=False)
    assert result == ([], ["0", "0.weight.extra"])  # by the module each key falls under
    with pytest.raises(ValueError, match="unexpected keys: '0', '0.weight.extra'"):
        model.load_state_dict(state)


def test_wrong_shapes_are_refused_with_strict_false_and_nothing_changes():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    before = model.state_dict()
    other = nn.Sequential(nn.Linear(3, 4, rng=5), nn.ReLU(), nn.Linear(4, 3, rng=6)).state_dict()
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with pytest.raises(RuntimeError, match="size mismatch for 2.weight"):  # torch refuses it too
        twin.load_state_dict({k: torch.tensor(v.T.copy()) for k, v in other.items()}, strict=False)
    with pytest.raises(ValueError, match=r"shape mismatch for '2.weight'(.|\n)*shape mismatch for '2.bias'"):
        model.load_state_dict(other, strict=False)
    for key, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[key])  # 0.weight too, although it fitted


def test_strict_true_still_refuses_missing_and_unexpected_keys_and_strict_must_be_a_bool():
    model = build(TREES["body_head"], nn)
    ours, _ = state_pair(TREES["body_fc"], "model", np.random.default_rng(0))
    before = model.state_dict()
    with pytest.raises(ValueError, match="missing keys: 'head.weight', 'head.bias'(.|\n)*"
                                         "unexpected keys: 'fc.weight', 'fc.bias'"):
        model.load_state_dict(ours)
    for bad in ("no", 0, None):
        with pytest.raises(TypeError, match="strict must be True or False"):
            model.load_state_dict(ours, strict=bad)
    for key, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[key])


def test_load_weights_puts_a_saved_body_under_a_new_head(tmp_path, rng):
    source = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 10, rng=1))
    gn.save(source, tmp_path / "source.glassnet")
    target = nn.Sequential(nn.Linear(4, 8, rng=2), nn.ReLU(), nn.Linear(8, 10, rng=3), nn.ReLU(),
                           nn.Linear(10, 3, rng=4))
    head = target[4].weight.data.copy()
    with pytest.raises(ModelFileError, match="missing keys: '4.weight', '4.bias'"):
        gn.load_weights(target, tmp_path / "source.glassnet")
    result = gn.load_weights(target, tmp_path / "source.glassnet", strict=False)
    assert result.missing_keys == ["4.weight", "4.bias"] and result.unexpected_keys == []
    x = rng.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(target[:3](x).numpy(), source(x).numpy())
    np.testing.assert_array_equal(target[4].weight.data, head)
    # the body file into a model whose head has another name and shape
    gn.save_weights(source[:2], tmp_path / "body.safetensors")
    renamed = nn.Sequential(OrderedDict([("0", nn.Linear(4, 8)), ("act", nn.ReLU()), ("fc", nn.Linear(8, 3))]))
    result = gn.load_weights(renamed, tmp_path / "body.safetensors", strict=False)
    assert result == (["fc.weight", "fc.bias"], [])
    np.testing.assert_array_equal(renamed[0].weight.data, source[0].weight.data)
    with pytest.raises(TypeError, match="strict must be True or False"):
        gn.load_weights(renamed, tmp_path / "body.safetensors", strict="no")


def test_a_missing_num_batches_tracked_is_kept_and_not_reported_as_pytorch_does():
    model = nn.Sequential(nn.Linear(3, 3, dtype=np.float64), nn.BatchNorm1d(3, dtype=np.float64))
    twin = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3)).double()
    model[1].num_batches_tracked[...] = 5
    twin[1].num_batches_tracked.fill_(5)
    state = {k: v for k, v in model.state_dict().items() if k != "1.num_batches_tracked"}
    state["1.running_mean"] = np.full(3, 2.0)
    result = model.load_state_dict(state)  # strict: an older checkpoint without the counter loads
    expected = twin.load_state_dict({k: torch.tensor(v.T.copy() if k == "0.weight" else v)
                                     for k, v in state.items()})
    assert result == (expected.missing_keys, expected.unexpected_keys) == ([], [])
    assert int(model[1].num_batches_tracked) == int(twin[1].num_batches_tracked) == 5
    np.testing.assert_array_equal(model[1].running_mean, np.full(3, 2.0))
    del state["1.running_var"]
    with pytest.raises(ValueError, match=r"missing keys: '1.running_var'$"):
        model.load_state_dict(state)
