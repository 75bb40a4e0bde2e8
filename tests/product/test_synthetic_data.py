"""SyntheticRegressionData, as imported from the generated d2lsave package."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
from d2l import torch as d2l
from hypothesis import given, settings
from hypothesis import strategies as st

from d2lsave import SyntheticRegressionData

W = torch.tensor([2.0, -3.4])


def make(**kwargs) -> SyntheticRegressionData:
    return SyntheticRegressionData(**{"w": W, "b": 4.2, "seed": 0, **kwargs})


def test_shapes_and_splits():
    data = make(num_train=7, num_val=5, w=[1.0, 2.0, 3.0])
    assert data.X.shape == (12, 3) and data.y.shape == (12, 1)
    assert sum(len(X) for X, _ in data.train_dataloader()) == 7
    assert sum(len(X) for X, _ in data.val_dataloader()) == 5


def test_labels_follow_the_linear_model():
    data = make(noise=0.0)
    torch.testing.assert_close(data.y, data.X @ W.reshape(-1, 1) + 4.2)
    noisy = make(noise=0.01, num_train=20_000, num_val=0)
    residual = noisy.y - (noisy.X @ W.reshape(-1, 1) + 4.2)
    assert residual.std().item() == pytest.approx(0.01, rel=0.05)


def test_hyperparameters_are_saved():
    data = make(noise=0.5, batch_size=7)
    assert (data.noise, data.batch_size, data.num_train, data.num_val) == (0.5, 7, 1000, 1000)
    assert data.hparams["seed"] == 0


def _rows(batches):
    return torch.cat([torch.cat([X, y], dim=1) for X, y in batches])


def _sorted_rows(rows):
    return rows[torch.argsort(rows[:, -1])]


@pytest.mark.parametrize("batch_size", [1, 32, 33, 999, 1000, 5000])
def test_a_training_epoch_yields_every_example_once(batch_size):
    data = make(batch_size=batch_size)
    rows = _rows(data.train_dataloader())
    expected = torch.cat([data.X, data.y], dim=1)[: data.num_train]
    assert torch.equal(_sorted_rows(rows), _sorted_rows(expected))
    # Shuffled whatever the batch size: a batch holding every example holds them out of order.
    assert not torch.equal(rows, expected)
    assert not torch.equal(rows, _rows(data.train_dataloader()))  # and differently next epoch


def test_validation_order_is_fixed_and_stored_order():
    data = make()
    first, second = _rows(data.val_dataloader()), _rows(data.val_dataloader())
    assert torch.equal(first, second)
    assert torch.equal(first, torch.cat([data.X, data.y], dim=1)[data.num_train :])


def test_consecutive_epochs_are_shuffled_differently():
    data = make()
    assert not torch.equal(_rows(data.train_dataloader()), _rows(data.train_dataloader()))


def test_the_last_partial_batch_and_drop_last():
    data = make(batch_size=32)
    sizes = [len(X) for X, _ in data.train_dataloader()]
    assert len(data.train_dataloader()) == len(sizes) == math.ceil(1000 / 32) == 32
    assert sizes[-1] == 1000 - 31 * 32 == 8
    rows = slice(0, data.num_train)
    dropped = data.get_tensorloader((data.X, data.y), True, rows, drop_last=True)
    assert len(dropped) == 31 and {len(X) for X, _ in dropped} == {32}


def test_same_seed_same_data_and_same_batches():
    a, b = make(seed=123), make(seed=123)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y)
    for _ in range(2):  # two epochs
        assert torch.equal(_rows(a.train_dataloader()), _rows(b.train_dataloader()))
    assert not torch.equal(make(seed=124).X, a.X)


def test_a_generator_can_be_passed_instead_of_a_seed():
    a = make(seed=torch.Generator().manual_seed(5))
    b = make(seed=5)
    assert torch.equal(a.X, b.X)


def test_a_seeded_dataset_leaves_the_global_random_state_alone():
    torch.manual_seed(99)
    before = torch.get_rng_state()
    data = make(seed=3)
    for loader in (data.train_dataloader(), data.val_dataloader()):
        for _ in loader:
            pass
    assert torch.equal(before, torch.get_rng_state())


def test_validation_reads_do_not_change_the_training_order():
    a, b = make(seed=8), make(seed=8)
    _rows(a.val_dataloader())
    assert torch.equal(_rows(a.train_dataloader()), _rows(b.train_dataloader()))


def test_without_a_seed_it_reproduces_d2l():
    torch.manual_seed(2024)
    ours = SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2)
    torch.manual_seed(2024)
    theirs = d2l.SyntheticRegressionData(w=torch.tensor([2, -3.4]), b=4.2)
    assert torch.equal(ours.X, theirs.X) and torch.equal(ours.y, theirs.y)
    torch.manual_seed(7)
    first = _rows(SyntheticRegressionData(w=W, b=4.2).train_dataloader())
    torch.manual_seed(7)
    assert torch.equal(first, _rows(SyntheticRegressionData(w=W, b=4.2).train_dataloader()))


def test_it_trains_with_d2l_trainer():
    torch.manual_seed(0)
    data = SyntheticRegressionData(w=W, b=4.2, seed=0)
    model = d2l.LinearRegression(lr=0.03)
    model.board.display = False
    d2l.Trainer(max_epochs=3).fit(model, data)
    w, b = model.get_w_b()
    torch.testing.assert_close(w.reshape(-1), W, atol=0.02, rtol=0)
    assert abs(b.item() - 4.2) < 0.02


@pytest.mark.processes
def test_data_is_identical_across_processes():
    script = (
        "import hashlib, torch; from d2lsave import SyntheticRegressionData as S;"
        "d = S(w=[2, -3.4], b=4.2, seed=11);"
        "batches = [X for X, _ in d.train_dataloader()];"
        "print(hashlib.sha256(d.y.numpy().tobytes() + torch.cat(batches).numpy().tobytes())"
        ".hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(digests) == 1 and len(digests.pop().strip()) == 64


# -- bad input ---------------------------------------------------------------------------

NOT_INTEGERS = st.one_of(
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


# Not a real number: text, booleans, None and sequences, for `noise` and `b` alike.
NOT_REALS = st.one_of(
    st.text(max_size=2),
    st.booleans(),
    st.none(),
    st.lists(st.floats(), min_size=2, max_size=3),
)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["num_train", "num_val", "batch_size"]),
    value=st.one_of(NOT_INTEGERS, st.integers(max_value=-1)),
)
def test_bad_counts_are_rejected_with_their_name(name, value):
    with pytest.raises((TypeError, ValueError), match=name) as error:
        make(**{name: value})
    assert repr(value) in str(error.value)


@pytest.mark.parametrize(("name", "value"), [("num_train", 0), ("batch_size", 0)])
def test_zero_is_rejected_where_at_least_one_is_needed(name, value):
    with pytest.raises(ValueError, match=f"{name} must be an integer >= 1, got 0"):
        make(**{name: value})


def test_zero_validation_examples_are_allowed():
    assert len(list(make(num_val=0).val_dataloader())) == 0


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.floats(max_value=-1e-9),
        st.just(math.nan),
        st.just(math.inf),
        NOT_REALS,
    )
)
def test_bad_noise_is_rejected_with_its_name(value):
    with pytest.raises((TypeError, ValueError), match="noise"):
        make(noise=value)


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.just(math.nan),
        st.just(-math.inf),
        NOT_REALS,
        st.just(torch.ones(2)),
    )
)
def test_bad_bias_is_rejected_with_its_name(value):
    with pytest.raises((TypeError, ValueError), match="^b must be"):
        make(b=value)


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.just([]),
        st.just([[1.0, 2.0]]),
        st.just(3.0),
        st.just(["a", "b"]),
        st.none(),
        st.just([True, False]),
        st.just([1 + 2j]),
        st.just({"a": 1}),
        st.lists(st.sampled_from([math.nan, math.inf, -math.inf]), min_size=1, max_size=3),
        st.just([1e39]),
    )
)
def test_bad_weights_are_rejected_with_their_name(value):
    with pytest.raises((TypeError, ValueError), match="^w must be"):
        make(w=value)


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, "0", True])
def test_bad_seeds_are_rejected(seed):
    with pytest.raises(TypeError, match="seed must be"):
        make(seed=seed)


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
