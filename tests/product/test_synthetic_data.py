"""SyntheticRegressionData, as imported from the generated d2lsave package."""

import math
import re

import numpy as np
import pytest
import torch
from d2l import torch as d2l
from hypothesis import given, settings
from hypothesis import strategies as st

from d2lsave import SyntheticRegressionData
from tests.product.conftest import by_rows, joined

W = torch.tensor([2.0, -3.4])


def make(**kwargs) -> SyntheticRegressionData:
    return SyntheticRegressionData(**{"w": W, "b": 4.2, "seed": 0, **kwargs})


def test_shapes_splits_hyperparameters_and_labels():
    data = make(num_train=7, num_val=5, w=[1.0, 2.0, 3.0], noise=0.5, batch_size=3)
    assert data.X.shape == (12, 3) and data.y.shape == (12, 1)
    assert sum(len(X) for X, _ in data.train_dataloader()) == 7
    assert sum(len(X) for X, _ in data.val_dataloader()) == 5
    assert (data.noise, data.batch_size, data.num_train, data.num_val) == (0.5, 3, 7, 5)
    assert data.hparams["seed"] == 0 and len(list(make(num_val=0).val_dataloader())) == 0
    clean = make(noise=0.0)
    torch.testing.assert_close(clean.y, clean.X @ W.reshape(-1, 1) + 4.2)
    noisy = make(noise=0.01, num_train=20_000, num_val=0)
    residual = noisy.y - (noisy.X @ W.reshape(-1, 1) + 4.2)
    assert residual.std().item() == pytest.approx(0.01, rel=0.05)


@pytest.mark.parametrize("batch_size", [1, 32, 33, 999, 1000, 5000])
def test_a_training_epoch_yields_every_example_once(batch_size):
    data = make(batch_size=batch_size)
    rows = joined(data.train_dataloader())
    expected = torch.cat([data.X, data.y], dim=1)[: data.num_train]
    assert np.array_equal(by_rows(rows), by_rows(expected))
    # Shuffled whatever the batch size: a batch holding every example holds them out of order.
    assert not torch.equal(rows, expected)
    assert not torch.equal(rows, joined(data.train_dataloader()))  # and differently next epoch


def test_validation_keeps_the_stored_order_and_training_ends_in_a_partial_batch():
    data = make(batch_size=32)
    first, second = joined(data.val_dataloader()), joined(data.val_dataloader())
    assert torch.equal(first, second)
    assert torch.equal(first, torch.cat([data.X, data.y], dim=1)[data.num_train :])
    sizes = [len(X) for X, _ in data.train_dataloader()]
    assert len(data.train_dataloader()) == len(sizes) == math.ceil(1000 / 32) == 32
    assert sizes[-1] == 1000 - 31 * 32 == 8
    dropped = data.get_tensorloader((data.X, data.y), True, slice(0, 1000), drop_last=True)
    assert len(dropped) == 31 and {len(X) for X, _ in dropped} == {32}


def test_same_seed_same_data_and_batches_whatever_the_global_random_state():
    torch.manual_seed(99)
    before = torch.get_rng_state()
    a, b = make(seed=123), make(seed=123)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    joined(a.val_dataloader())  # validation reads move no training shuffle
    for _ in range(2):  # two epochs
        assert torch.equal(joined(a.train_dataloader()), joined(b.train_dataloader()))
    assert torch.equal(before, torch.get_rng_state())
    assert not torch.equal(make(seed=124).X, a.X)
    assert torch.equal(make(seed=torch.Generator().manual_seed(5)).X, make(seed=5).X)


def test_without_a_seed_it_reproduces_d2l_and_trains_with_d2l_trainer():
    torch.manual_seed(2024)
    ours = SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2)
    torch.manual_seed(2024)
    theirs = d2l.SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2)
    assert torch.equal(ours.X, theirs.X) and torch.equal(ours.y, theirs.y)
    torch.manual_seed(7)
    first = joined(SyntheticRegressionData(w=W, b=4.2).train_dataloader())
    torch.manual_seed(7)
    assert torch.equal(first, joined(SyntheticRegressionData(w=W, b=4.2).train_dataloader()))
    torch.manual_seed(0)
    model = d2l.LinearRegression(lr=0.03)
    model.board.display = False
    d2l.Trainer(max_epochs=3).fit(model, SyntheticRegressionData(w=W, b=4.2, seed=0))
    w, b = model.get_w_b()
    torch.testing.assert_close(w.reshape(-1), W, atol=0.02, rtol=0)
    assert abs(b.item() - 4.2) < 0.02


# Not a real number: text, booleans, None and sequences.
NOT_REALS = st.one_of(
    st.text(max_size=2), st.booleans(), st.none(), st.lists(st.floats(), min_size=2, max_size=3)
)
BAD_COUNTS = st.one_of(
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.integers(max_value=-1),
)
BAD_VALUES = {
    "num_train": BAD_COUNTS,
    "num_val": BAD_COUNTS,
    "batch_size": BAD_COUNTS,
    "noise": st.one_of(
        st.floats(max_value=-1e-9), st.sampled_from([math.nan, math.inf]), NOT_REALS
    ),
    "b": st.one_of(st.sampled_from([math.nan, -math.inf, torch.ones(2)]), NOT_REALS),
    "w": st.one_of(
        st.sampled_from(
            [[], [[1.0, 2.0]], 3.0, ["a", "b"], None, [True, False], [1 + 2j], {"a": 1}, [1e39]]
        ),
        st.lists(st.sampled_from([math.nan, math.inf, -math.inf]), min_size=1, max_size=3),
    ),
}


@pytest.mark.parametrize("name", BAD_VALUES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_bad_values_are_rejected_with_their_name(name, data):
    value = data.draw(BAD_VALUES[name])
    with pytest.raises((TypeError, ValueError), match=f"^{name} must be") as error:
        make(**{name: value})
    if BAD_VALUES[name] is BAD_COUNTS:
        assert repr(value) in str(error.value)


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [("num_train", 0, ValueError), ("batch_size", 0, ValueError)]
    + [("seed", seed, TypeError) for seed in (-1, 2**64, 1.5, "0", True)],
)
def test_bad_values_are_named_with_the_value(name, value, error):
    with pytest.raises(error, match=f"^{name} must be .*, got {re.escape(repr(value))}$"):
        make(**{name: value})


@settings(max_examples=30, deadline=None)
@given(
    w=st.lists(st.floats(-100, 100), min_size=1, max_size=4),
    b=st.one_of(st.integers(-100, 100), st.floats(-100, 100)),
    noise=st.floats(0, 10),
    num_train=st.integers(1, 50),
    num_val=st.integers(0, 50),
    batch_size=st.integers(1, 60),
)
def test_good_inputs_are_accepted(w, b, noise, num_train, num_val, batch_size):
    data = SyntheticRegressionData(w, b, noise, num_train, num_val, batch_size, seed=1)
    assert data.X.shape == (num_train + num_val, len(w))
    assert len(data.train_dataloader()) == math.ceil(num_train / batch_size)
