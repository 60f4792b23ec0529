"""Network surgery as in PyTorch: a new head by attribute assignment or ``model[-1] = ...``,
``del model[i]`` (renumbered as PyTorch does), ``nn.Identity`` as the way to drop a classifier,
each checked against torch's result and round-tripped through glassnet.save / load."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import losses, nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU())
        self.fc = nn.Linear(8, 3, rng=1)
        self.scale = nn.Parameter(np.ones(1, np.float32))

    def forward(self, x):
        return self.fc(self.body(x)) * self.scale


class TorchClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
        self.fc = torch.nn.Linear(8, 3)
        self.scale = torch.nn.Parameter(torch.ones(1))


def test_assigning_a_new_head_replaces_the_registered_module_in_place():
    model, twin = Classifier(), TorchClassifier()
    old = model.fc
    model.fc = nn.Linear(8, 5, rng=2)
    twin.fc = torch.nn.Linear(8, 5)
    assert list(model.state_dict()) == list(twin.state_dict())  # the head kept its place
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert model.state_dict()["fc.weight"].shape == (8, 5)
    assert all(p is not old.weight and p is not old.bias for p in model.parameters())
    assert model.num_parameters() == 4 * 8 + 8 + 8 * 5 + 5 + 1
    assert model(np.ones((2, 4), np.float32)).shape == (2, 5)
    model.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh())  # the body too stays first
    twin.body = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh())
    assert list(model.state_dict()) == list(twin.state_dict())
    with pytest.raises(TypeError, match="cannot assign int to sub-module 'fc'"):
        model.fc = 3


def test_identity_turns_a_classifier_into_a_feature_extractor_and_saves(tmp_path, rng):
    model = Classifier()
    x = rng.normal(size=(5, 4)).astype(np.float32)
    features = model.body(x).numpy()
    model.fc = nn.Identity()
    np.testing.assert_array_equal(model(x).numpy(), features)  # times scale 1
    assert "fc.weight" not in model.state_dict()
    extractor = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1))
    extractor[-1] = nn.Identity()
    gn.save(extractor, tmp_path / "features.glassnet")
    loaded = gn.load(tmp_path / "features.glassnet")
    assert type(loaded[-1]).__name__ == "Identity" and len(loaded) == 3
    np.testing.assert_array_equal(loaded(x).numpy(), features)
    assert list(loaded.state_dict()) == ["0.weight", "0.bias"]


def test_identity_takes_no_arguments():
    # torch.nn.Identity(54, unused=0.1) ignores its arguments; an ignored argument hides a mistake
    assert nn.Identity().get_config() == {} and repr(nn.Identity()) == "Identity()"
    with pytest.raises(TypeError, match="Identity takes 0 positional argument"):
        nn.Identity(54)
    with pytest.raises(TypeError):
        nn.Identity(unused_argument=0.1)


def test_sequential_setitem_follows_pytorch_including_negative_indices():
    ours = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 10))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    ours[-1], theirs[-1] = nn.Linear(16, 3), torch.nn.Linear(16, 3)
    ours[1], theirs[1] = nn.Tanh(), torch.nn.Tanh()
    ours[-3], theirs[-3] = nn.Linear(2, 16, bias=False), torch.nn.Linear(2, 16, bias=False)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0.weight", "2.weight", "2.bias"]
    assert [type(m).__name__ for m in ours] == ["Linear", "Tanh", "Linear"]
    assert ours(np.ones((4, 2), np.float32)).shape == (4, 3)
    ours[np.int64(0)] = nn.Linear(2, 16)
    assert ours[0].bias is not None


@pytest.mark.parametrize("index, value, error, words", [
    (3, nn.ReLU(), IndexError, "index 3 is out of range for a Sequential of 3 modules"),
    (-4, nn.ReLU(), IndexError, "index -4 is out of range"),
    (0, 3, TypeError, "Sequential holds Modules: cannot put a int at index 0"),
    (0, None, TypeError, "cannot put a NoneType at index 0"),
    (1, torch.nn.ReLU(), TypeError, "cannot put a ReLU at index 1"),
    ("0", nn.ReLU(), TypeError, "Sequential indices must be ints (a slice cannot be assigned), got str"),
    (True, nn.ReLU(), TypeError, "got bool"),
    (slice(0, 1), nn.ReLU(), TypeError, "got slice"),
])
def test_sequential_setitem_refuses_bad_indices_and_values_and_changes_nothing(index, value, error, words):
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    before = list(model)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        model[index] = value
    assert list(model) == before and list(model._modules) == ["0", "1", "2"]


@pytest.mark.parametrize("index", [1, -1, 0, slice(0, 2), slice(1, None), slice(None, None, 2), slice(5, 9)])
def test_sequential_delitem_renumbers_as_pytorch_does(index):
    ours = nn.Sequential(OrderedDict([("a", nn.Linear(1, 1)), ("b", nn.ReLU()), ("c", nn.Linear(1, 2)),
                                      ("d", nn.Tanh())]))
    theirs = torch.nn.Sequential(OrderedDict([("a", torch.nn.Linear(1, 1)), ("b", torch.nn.ReLU()),
                                              ("c", torch.nn.Linear(1, 2)), ("d", torch.nn.Tanh())]))
    del ours[index]
    del theirs[index]
    assert list(ours._modules) == list(theirs._modules)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert all(getattr(ours, name) is module for name, module in ours._modules.items())
    assert not any(hasattr(ours, name) for name in "abcd")  # renamed "0", "1", ...
    ours.append(nn.ReLU())
    theirs.append(torch.nn.ReLU())
    assert list(ours._modules) == list(theirs._modules)


@pytest.mark.parametrize("index, error", [(4, IndexError), (-5, IndexError), ("0", TypeError), (1.0, TypeError)])
def test_sequential_delitem_refuses_bad_indices_and_changes_nothing(index, error):
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Tanh())
    before = list(model)
    with pytest.raises(error):
        del model[index]
    assert list(model) == before and list(model._modules) == ["0", "1", "2", "3"]


def test_a_sequential_after_surgery_saves_loads_and_trains(tmp_path, rng):
    model = nn.Sequential(nn.Linear(4, 16, rng=0), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 10, rng=1))
    del model[2]
    model[-1] = nn.Linear(16, 3, rng=2)
    model.append(nn.Identity())
    assert list(model._modules) == ["0", "1", "2", "3"]
    path = tmp_path / "surgery.glassnet"
    gn.save(model, path)
    loaded = gn.load(path)
    assert [type(m).__name__ for m in loaded] == ["Linear", "ReLU", "Linear", "Identity"]
    x = rng.normal(size=(6, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    for key, array in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], array)
    model[0].freeze()
    losses.cross_entropy(model(x), np.array([0, 1, 2, 0, 1, 2])).backward()
    assert model[0].weight.grad is None and model[2].weight.grad.shape == (16, 3)


def test_children_and_named_modules_after_surgery_match_pytorch():
    ours = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 3)), nn.Linear(3, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 3)),
                                 torch.nn.Linear(3, 1))
    ours[1][0], theirs[1][0] = nn.Tanh(), torch.nn.Tanh()
    del ours[1][1]
    del theirs[1][1]
    ours[2] = ours[0]  # a shared layer
    theirs[2] = theirs[0]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ([n for n, _ in ours.named_modules(remove_duplicate=False)]
            == [n for n, _ in theirs.named_modules(remove_duplicate=False)])
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()] == ["0", "1"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
