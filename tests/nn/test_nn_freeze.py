"""Module.requires_grad_, freeze and unfreeze: a frozen parameter gets no gradient while gradients
still flow through its layer (checked against PyTorch), and a frozen BatchNorm stays in evaluation
mode under train() (the pitfall of PyTorch's requires_grad_(False) alone, shown side by side)."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import losses, nn


def mlp(dtype=np.float64):
    return nn.Sequential(nn.Linear(3, 5, dtype=dtype, rng=0), nn.Tanh(), nn.Linear(5, 4, dtype=dtype, rng=1),
                         nn.Tanh(), nn.Linear(4, 2, dtype=dtype, rng=2))


def torch_twin(model):
    """The torch MLP with the same weights (torch stores Linear weights transposed)."""
    twin = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 4), torch.nn.Tanh(),
                               torch.nn.Linear(4, 2)).double()
    twin.load_state_dict({k: torch.tensor(v.T.copy() if k.endswith("weight") else v)
                          for k, v in model.state_dict().items()})
    return twin


def backward_both(model, twin, x, y):
    losses.mse(model(x), y).backward()
    torch.nn.functional.mse_loss(twin(torch.tensor(x)), torch.tensor(y)).backward()


def test_a_frozen_middle_layer_gets_no_gradient_and_the_first_layer_still_gets_its_own(rng):
    model = mlp()
    twin = torch_twin(model)
    model[2].requires_grad_(False)
    twin[2].requires_grad_(False)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    backward_both(model, twin, x, y)
    assert model[2].weight.grad is None and model[2].bias.grad is None
    assert twin[2].weight.grad is None
    for index in (0, 4):  # before and after the frozen layer: PyTorch's gradients, to the last bits
        np.testing.assert_allclose(model[index].weight.grad, twin[index].weight.grad.numpy().T, rtol=1e-12)
        np.testing.assert_allclose(model[index].bias.grad, twin[index].bias.grad.numpy(), rtol=1e-12)
    assert np.abs(model[0].weight.grad).sum() > 0


def test_the_input_gradient_flows_through_a_frozen_network(rng):
    model = mlp().freeze()
    x = gn.Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    model(x).sum().backward()
    twin = torch_twin(model).requires_grad_(False)
    tx = torch.tensor(x.data, requires_grad=True)
    twin(tx).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)
    assert all(p.grad is None for p in model.parameters())


def test_requires_grad_sets_every_parameter_drops_gradients_and_returns_self(rng):
    model = mlp()
    losses.mse(model(rng.normal(size=(2, 3))), np.zeros((2, 2))).backward()
    assert model.requires_grad_(False) is model
    assert [p.requires_grad for p in model.parameters()] == [False] * 6
    assert all(p.grad is None for p in model.parameters())  # nothing stale for an optimizer
    assert model.requires_grad_() is model
    assert [p.requires_grad for p in model.parameters()] == [True] * 6
    assert all(p.grad is None for p in model.parameters())  # unfreezing makes no gradient
    model.requires_grad_(np.bool_(False))
    assert not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("flag", ["yes", 1, 0, None, 1.0])
def test_requires_grad_must_be_a_bool_and_nothing_changes_otherwise(flag, rng):
    model = mlp()
    model(rng.normal(size=(2, 3))).sum().backward()
    grads = [p.grad for p in model.parameters()]
    with pytest.raises(TypeError, match="requires_grad must be True or False"):
        model.requires_grad_(flag)
    assert all(p.requires_grad for p in model.parameters())
    assert all(p.grad is g for p, g in zip(model.parameters(), grads))


def batchnorm_model(rng_seed=0):
    body = nn.Sequential(nn.Linear(3, 4, dtype=np.float64, rng=rng_seed), nn.BatchNorm1d(4, dtype=np.float64),
                         nn.ReLU())
    return nn.Sequential(body, nn.Linear(4, 2, dtype=np.float64, rng=rng_seed + 1))


def trained_stats(model, rng):
    """Give the BatchNorm non-trivial running statistics (the 'source data')."""
    model.train()
    for _ in range(3):
        model(rng.normal(loc=2.0, scale=3.0, size=(16, 3)))
    bn = model[0][1]
    return bn.running_mean.copy(), bn.running_var.copy(), int(bn.num_batches_tracked)


def test_frozen_batchnorm_survives_train_on_the_outer_model_and_keeps_its_statistics(rng):
    model = batchnorm_model()
    mean, var, count = trained_stats(model, rng)
    assert model[0].freeze() is model[0]
    model.train()
    bn = model[0][1]
    assert model.training and model[1].training and model[0].training
    assert not bn.training
    x = rng.normal(size=(8, 3))
    out_training = model(x).numpy()
    np.testing.assert_array_equal(bn.running_mean, mean)
    np.testing.assert_array_equal(bn.running_var, var)
    assert int(bn.num_batches_tracked) == count
    np.testing.assert_array_equal(model.eval()(x).numpy(), out_training)  # the trained function
    model.train(True)
    assert not bn.training and model[1].training


def test_pytorch_pitfall_requires_grad_alone_updates_batchnorm_statistics_and_freeze_does_not(rng):
    x = rng.normal(loc=5.0, size=(16, 4))
    ours = nn.BatchNorm1d(4, dtype=np.float64).requires_grad_(False)
    theirs = torch.nn.BatchNorm1d(4).double().requires_grad_(False)
    ours.train()(x)
    theirs.train()(torch.tensor(x))
    # requires_grad_(False) alone is PyTorch's: the statistics follow the new data
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    assert np.abs(ours.running_mean).min() > 0.3
    frozen = nn.BatchNorm1d(4, dtype=np.float64).freeze()
    frozen.train()(x)
    np.testing.assert_array_equal(frozen.running_mean, np.zeros(4))
    np.testing.assert_array_equal(frozen.running_var, np.ones(4))
    assert int(frozen.num_batches_tracked) == 0


def test_unfreeze_restores_training_in_the_mode_of_the_module_it_is_called_on(rng):
    model = batchnorm_model()
    bn = model[0][1]
    model[0].freeze()
    model.train()
    assert model[0].unfreeze() is model[0]
    assert bn.training and all(p.requires_grad for p in model.parameters())
    before = bn.running_mean.copy()
    model(rng.normal(loc=3.0, size=(8, 3)))
    assert not np.array_equal(bn.running_mean, before)  # following train() again
    model.eval()
    assert not bn.training
    model.train()
    assert bn.training
    model.freeze()
    model.eval()
    model.unfreeze()
    assert not bn.training and not model.training  # eval, the mode of the model
    model.train()
    assert bn.training


def test_unfreeze_called_on_the_batchnorm_itself_takes_the_mode_train_last_asked_for():
    model = batchnorm_model()
    bn = model[0][1]
    bn.freeze()
    model.train()
    assert not bn.training
    bn.unfreeze()
    assert bn.training
    bn.freeze()
    model.eval()
    bn.unfreeze()
    assert not bn.training


def test_freeze_twice_is_freezing_once_and_unfreeze_without_freeze_changes_nothing():
    model = batchnorm_model()
    model.eval()
    model.freeze().freeze()
    model.train()
    assert not model[0][1].training and not any(p.requires_grad for p in model.parameters())
    model.unfreeze()
    assert model[0][1].training and all(p.requires_grad for p in model.parameters())
    fresh = batchnorm_model().eval()
    fresh.unfreeze()
    assert [m.training for m in fresh.modules()] == [False] * 6
    assert all(p.requires_grad for p in fresh.parameters())
    fresh.train().unfreeze()
    assert [m.training for m in fresh.modules()] == [True] * 6


def test_requires_grad_alone_does_not_unlock_a_frozen_batchnorm():
    model = batchnorm_model().freeze()
    model.requires_grad_(True)  # the parameters train again; the statistics stay the source's
    assert all(p.requires_grad for p in model.parameters())
    assert not model.train()[0][1].training


def test_freeze_a_model_with_shared_parameters_and_a_shared_batchnorm(rng):
    shared, bn = nn.Linear(3, 3, dtype=np.float64, rng=0), nn.BatchNorm1d(3, dtype=np.float64)
    model = nn.Sequential(shared, bn, nn.Sequential(shared, bn), nn.Linear(3, 1, dtype=np.float64, rng=1))
    assert model.num_parameters() == 12 + 6 + 4
    model[2].freeze()  # freezes the shared layers wherever they appear
    model.train()
    assert not bn.training and not shared.weight.requires_grad
    assert [name for name, p in model.named_parameters() if p.requires_grad] == ["3.weight", "3.bias"]
    losses.mse(model(rng.normal(size=(4, 3))), np.zeros((4, 1))).backward()
    assert shared.weight.grad is None and bn.weight.grad is None and model[3].weight.grad is not None
    np.testing.assert_array_equal(bn.running_mean, np.zeros(3))


def test_freezing_is_not_saved_a_loaded_model_trains_and_its_batchnorm_follows_train(tmp_path, rng):
    model = batchnorm_model()
    trained_stats(model, rng)
    model[0].freeze()
    state = model.state_dict()
    gn.save(model, tmp_path / "frozen.glassnet")
    loaded = gn.load(tmp_path / "frozen.glassnet")
    assert all(p.requires_grad for p in loaded.parameters())
    assert loaded.train()[0][1].training
    for key, array in loaded.state_dict().items():
        np.testing.assert_array_equal(array, state[key])
    assert list(model.state_dict()) == list(state)  # freezing adds no key
    assert not model[0][1].training  # and the saving did not unfreeze the source


def test_named_modules_without_removing_duplicates_matches_pytorch():
    shared = nn.Linear(2, 2)
    ours = nn.Sequential(shared, nn.Sequential(shared, nn.ReLU()), shared)
    torch_shared = torch.nn.Linear(2, 2)
    theirs = torch.nn.Sequential(torch_shared, torch.nn.Sequential(torch_shared, torch.nn.ReLU()), torch_shared)
    for remove in (True, False):
        assert ([n for n, _ in ours.named_modules(remove_duplicate=remove)]
                == [n for n, _ in theirs.named_modules(remove_duplicate=remove)])
    assert [n for n, _ in ours.named_modules(prefix="net")] == [n for n, _ in theirs.named_modules(prefix="net")]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()] == ["0", "1"]
    assert [type(m).__name__ for m in ours.children()] == ["Linear", "Sequential"]
    with pytest.raises(TypeError, match="remove_duplicate must be True or False"):
        list(ours.named_modules(remove_duplicate="no"))


def test_freeze_and_unfreeze_a_module_without_parameters_and_inside_a_frozen_parent():
    relu = nn.ReLU()
    assert relu.freeze() is relu and relu.unfreeze() is relu and relu.train().training
    model = batchnorm_model().freeze()
    model.train()
    model[1].unfreeze()  # only the head trains again; the body stays frozen, its BatchNorm in eval
    assert [name for name, p in model.named_parameters() if p.requires_grad] == ["1.weight", "1.bias"]
    assert not model[0][1].training
