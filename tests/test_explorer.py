"""The slider explorer's Python side: the data and the readout for given slider settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from d2lsave import RegressionExplorer, least_squares


@pytest.fixture
def explorer() -> RegressionExplorer:
    return RegressionExplorer(seed=0, max_examples=2000)


def test_data_follows_the_sliders_from_fixed_draws(explorer):
    explorer.set(n=500, w1=1.5, w2=0.5, b=-2.0, noise=0.3)
    X, y = explorer.data()
    assert X.shape == (500, 2) and y.shape == (500, 1) and X.dtype == torch.float32
    assert torch.equal(X, explorer.base_features[:500])
    expected = X @ torch.tensor([1.5, 0.5]) - 2.0 + 0.3 * explorer.base_noise[:500]
    torch.testing.assert_close(y.flatten(), expected)


def test_more_examples_keep_the_ones_already_shown(explorer):
    explorer.set(n=100)
    small = explorer.data()
    explorer.set(n=1000)
    large = explorer.data()
    assert torch.equal(large[0][:100], small[0]) and torch.equal(large[1][:100], small[1])


def test_noise_only_scales_the_same_draws(explorer):
    explorer.set(noise=0.0)
    clean = explorer.data()[1]
    explorer.set(noise=2.0)
    noisy = explorer.data()[1]
    torch.testing.assert_close((noisy - clean).flatten(), 2.0 * explorer.base_noise[:1000])


def test_minibatch_is_the_smallest_keys_and_the_batch_size(explorer):
    explorer.set(batch_size=33, n=200)
    batch = explorer.minibatch()
    assert len(batch) == 33 and len(set(batch.tolist())) == 33
    keys = explorer.order_keys[:200]
    assert keys[batch].max() < keys[np.setdiff1d(np.arange(200), batch.numpy())].min()
    explorer.set(batch_size=256, n=100)
    assert len(explorer.minibatch()) == 100


def test_readout_matches_torch_lstsq(explorer):
    explorer.set(noise=0.5, n=300, w1=-1.0, w2=3.0, b=2.5)
    X, y = explorer.data()
    design = torch.cat([X, torch.ones(len(X), 1)], dim=1).double()
    reference = torch.linalg.lstsq(design, y.double()).solution.flatten()
    fit = explorer.fit()
    assert fit["w1_hat"] == pytest.approx(reference[0].item(), abs=1e-9)
    assert fit["w2_hat"] == pytest.approx(reference[1].item(), abs=1e-9)
    assert fit["b_hat"] == pytest.approx(reference[2].item(), abs=1e-9)
    assert fit["w1_error"] == pytest.approx(reference[0].item() + 1.0, abs=1e-9)
    numpy_solution = np.linalg.lstsq(design.numpy(), y.double().numpy(), rcond=None)[0]
    np.testing.assert_allclose(numpy_solution.flatten(), reference.numpy(), atol=1e-9)


def test_least_squares_recovers_noise_free_parameters():
    X = torch.randn(50, 3, generator=torch.Generator().manual_seed(1))
    w, b = least_squares(X, X @ torch.tensor([1.0, -2.0, 0.5]) + 3.0)
    torch.testing.assert_close(
        w, torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), atol=1e-5, rtol=0
    )
    assert b == pytest.approx(3.0, abs=1e-5)


def test_same_seed_same_draws_and_panel_state():
    a = RegressionExplorer(seed=4, n=50, max_examples=100)
    b = RegressionExplorer(seed=4, n=50, max_examples=100)
    assert torch.equal(a.base_features, b.base_features)
    assert a.panel.base_features == b.panel.base_features
    assert np.array_equal(np.frombuffer(a.panel.order_keys, np.float32), a.order_keys.numpy())


def test_every_slider_is_labelled_and_linked(explorer):
    assert set(explorer.sliders) == {"noise", "batch_size", "n", "w1", "w2", "b"}
    for name, slider in explorer.sliders.items():
        assert slider.description
        assert getattr(explorer.panel, name) == slider.value
    explorer.set(b=-3.0)
    assert explorer.panel.b == -3.0 and explorer.values["b"] == -3.0


def test_figure_shows_the_current_state(explorer):
    explorer.set(n=120, batch_size=10)
    fig = explorer.figure()
    try:
        assert len(fig.axes) == 2
        offsets = [c.get_offsets() for c in fig.axes[0].collections]
        assert [len(o) for o in offsets] == [120, 10]
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_repr_names_the_settings(explorer):
    assert repr(explorer) == (
        "RegressionExplorer(noise=0.01, batch_size=32, n=1000, w1=2.0, w2=-3.4, b=4.2)"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"w": (1.0, 2.0, 3.0)}, "w must hold exactly 2"),
        ({"n": 5}, "n must be an integer >= 10"),
        ({"n": 5000, "max_examples": 2000}, "n must be <= max_examples"),
        ({"noise": -1}, "noise must be"),
        ({"batch_size": 0}, "batch_size must be"),
        ({"seed": -1}, "seed must be"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        RegressionExplorer(**kwargs)


def test_unknown_sliders_are_named(explorer):
    with pytest.raises(ValueError, match="unknown slider.*'sigma'"):
        explorer.set(sigma=1.0)
