import numpy as np
import pytest

from nnlab.hopfield import HopfieldNetwork, flip_bits, mixture, random_patterns
from nnlab.hopfield.experiments import capacity_curve, correlated_vs_random, recall_overlaps


def _naive_async(W, s, seed, max_sweeps=100):
    """Reference: visit every unit in a fresh random order per sweep, recompute its field."""
    rng = np.random.default_rng(seed)
    s = s.copy()
    for _ in range(max_sweeps):
        changed = 0
        for i in rng.permutation(len(s)):
            h = W[i] @ s
            if h != 0 and np.sign(h) != s[i]:
                s[i] = np.sign(h)
                changed += 1
        if not changed:
            break
    return s


def _naive_storkey(X):
    P, N = X.shape
    W = np.zeros((N, N))
    for xi in X:
        Wn = W.copy()
        for i in range(N):
            for j in range(N):
                hij = sum(W[i, k] * xi[k] for k in range(N) if k not in (i, j))
                hji = sum(W[j, k] * xi[k] for k in range(N) if k not in (i, j))
                Wn[i, j] += (xi[i] * xi[j] - xi[i] * hji - hij * xi[j]) / N
        np.fill_diagonal(Wn, 0)
        W = Wn
    return W


def test_hebb_weights_are_the_outer_product_rule_with_zero_diagonal():
    X = random_patterns(3, 20, seed=0)
    W = HopfieldNetwork(20).store(X).weights
    ref = X.T @ X / 20
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(W, ref)
    assert np.all(np.diag(W) == 0) and np.allclose(W, W.T)


def test_storkey_matches_the_rule_written_out_elementwise():
    X = random_patterns(3, 7, seed=1)
    np.testing.assert_allclose(HopfieldNetwork(7).store(X, rule="storkey").weights, _naive_storkey(X), atol=1e-12)


def test_pinv_makes_every_pattern_a_fixed_point_at_half_load():
    X = random_patterns(50, 100, seed=2)
    net = HopfieldNetwork(100).store(X, rule="pinv")
    assert np.all(np.diag(net.weights) == 0)
    assert all(net.is_fixed_point(x) for x in X)
    hebb = HopfieldNetwork(100).store(X, rule="hebb")
    assert not all(hebb.is_fixed_point(x) for x in X)


def test_async_recall_is_the_sequential_update_rule():
    """The incremental-field, jump-to-next-unstable implementation visits units exactly as the
    textbook loop does (same random order per sweep), so it reaches the same state."""
    N = 120
    X = random_patterns(20, N, seed=3)  # load 0.17: long, nontrivial trajectories
    net = HopfieldNetwork(N).store(X)
    for seed in range(3):
        x = flip_bits(X[seed], 0.25, seed=seed)
        res = net.recall(x, seed=seed)
        np.testing.assert_array_equal(res.state, _naive_async(net.weights, x, seed))
        assert res.converged and net.is_fixed_point(res.state)


def test_energy_never_rises_under_async_updates():
    N, P = 200, 10
    net = HopfieldNetwork(N).store(random_patterns(P, N, seed=4))
    x = np.where(np.random.default_rng(0).random(N) < 0.5, 1.0, -1.0)
    res = net.recall(x, seed=0, record="flip")
    assert len(res.energies) == 1 + res.flips + 1  # the start, one entry per flip, the final clean sweep
    assert res.flips > 20
    assert np.diff(res.energies).max() <= 1e-9
    assert res.energies[-1] == pytest.approx(net.energy(res.state), abs=1e-9)
    assert res.energies[-1] < res.energies[0] - 10
    assert res.overlaps.shape == (len(res.energies), P)
    np.testing.assert_allclose(res.overlaps[-1], net.patterns @ res.state / N, atol=1e-12)


def test_n1000_recall_runs_and_recovers_the_pattern():
    N = 1000
    X = random_patterns(100, N, seed=5)
    net = HopfieldNetwork(N).store(X)
    res = net.recall(flip_bits(X[7], 0.1, seed=0), seed=0)
    assert res.converged and res.overlap(7) >= 0.98
    assert res.overlaps[0, 7] == pytest.approx(0.8)


def test_zero_local_field_keeps_the_state():
    # w01 = w02 = 0, so unit 0 always sees h = 0: sgn(0) -> +1 would flip it, the documented rule keeps it
    net = HopfieldNetwork(3).store([[1, 1, 1], [1, -1, -1]])
    assert net.weights[0, 1] == 0 and net.weights[0, 2] == 0
    for mode in ("async", "sync"):
        res = net.recall([-1, 1, 1], mode=mode, seed=0)
        assert res.state[0] == -1 and res.converged


def test_synchronous_updates_can_cycle_where_async_converges():
    net = HopfieldNetwork(2).store([1, -1])  # w12 = -1/2
    res = net.recall([1, 1], mode="sync")
    assert res.cycle == 2 and not res.converged
    np.testing.assert_array_equal(res.state, [-1, -1])
    assert res.energies[1] == res.energies[0]  # no descent: E(1,1) = E(-1,-1) = 1/2
    a = net.recall([1, 1], mode="async", seed=0)
    assert a.converged and a.state[0] == -a.state[1] and a.energy == -0.5


def test_sync_cycles_on_random_patterns_too():
    N = 200
    net = HopfieldNetwork(N).store(random_patterns(60, N, seed=1))
    cycles = [
        net.recall(np.where(np.random.default_rng(k).random(N) < 0.5, 1.0, -1.0), mode="sync", max_sweeps=50).cycle
        for k in range(10)
    ]
    assert 2 in cycles


def test_negated_pattern_and_three_mixture_are_spurious_fixed_points():
    N = 400
    X = random_patterns(5, N, seed=6)
    net = HopfieldNetwork(N).store(X)
    assert net.is_fixed_point(-X[0]) and net.is_fixed_point(-X[3])
    mix = mixture(*X[:3])
    assert net.is_fixed_point(mix)
    m = X[:3] @ mix / N
    assert np.all(np.abs(m - 0.5) < 0.1)  # about 1/2 with each parent, as theory says
    res = net.recall(flip_bits(mix, 0.05, seed=0), seed=0)  # and an attractor: it pulls nearby states back
    assert res.state @ mix / N > 0.95


def test_capacity_by_recall_overlap_n400_several_seeds():
    c = capacity_curve(400, loads=(0.10, 0.20), seeds=(0, 1, 2), probes=20)
    assert c["overlaps"].shape == (3, 2)
    assert c["overlaps"][:, 0].min() >= 0.9
    assert c["overlaps"][:, 1].max() <= 0.7


def test_storkey_and_pinv_hold_loads_where_hebb_fails():
    N = 200
    X = random_patterns(60, N, seed=7)  # load 0.30
    m = {
        rule: recall_overlaps(HopfieldNetwork(N).store(X, rule=rule), X, probes=15).mean()
        for rule in ("hebb", "storkey", "pinv")
    }
    assert m["hebb"] < 0.7
    assert m["storkey"] > 0.9 and m["pinv"] > 0.95


def test_correlated_digits_fail_below_random_capacity():
    from nnlab.hopfield import digit_patterns

    D, labels = digit_patterns(14, 1, seed=0)
    assert D.shape == (10, 196) and sorted(labels) == list(range(10))
    r = correlated_vs_random(D)
    assert r["load"] < 0.138 / 2
    assert r["random"]["overlap"].mean() > 0.99 and r["random"]["fixed"] == 1.0
    assert r["correlated"]["overlap"].mean() < 0.85 and r["correlated"]["fixed"] < 0.5
    assert r["correlated"]["mean_abs_correlation"] > 3 * r["random"]["mean_abs_correlation"]


def test_energy_of_a_batch_and_of_one_state_agree():
    X = random_patterns(4, 30, seed=8)
    net = HopfieldNetwork(30).store(X)
    np.testing.assert_allclose(net.energy(X), [net.energy(x) for x in X])
    assert net.energy(X[0]) == pytest.approx(-0.5 * X[0] @ net.weights @ X[0])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: HopfieldNetwork(0), "N must be at least 1"),
        (lambda: HopfieldNetwork(-3), "N must be at least 1"),
        (lambda: HopfieldNetwork(4).store([[1, 0, 1, 1]]), r"patterns: every entry must be \+1 or -1.*2\*x - 1"),
        (lambda: HopfieldNetwork(4).store([[1, 1, 1]]), "patterns: expected length N=4.*got 3"),
        (lambda: HopfieldNetwork(4).store(np.ones((2, 2, 4))), "patterns: expected a vector"),
        (lambda: HopfieldNetwork(4).store([[1, np.nan, 1, 1]]), r"patterns: every entry must be \+1 or -1"),
        (lambda: HopfieldNetwork(4).store([1, 1, 1, 1], rule="oja"), "rule must be one of 'hebb', 'storkey', 'pinv'"),
        (lambda: HopfieldNetwork(4).recall([1, 1, 1, 1], mode="parallel"), "mode must be 'async' or 'sync'"),
        (lambda: HopfieldNetwork(4).recall([1, 1, 1], mode="sync"), "recall: x: expected length N=4"),
        (lambda: HopfieldNetwork(4).recall([1, 1, 1, 1], max_sweeps=0), "max_sweeps must be a positive int"),
        (lambda: HopfieldNetwork(4).recall([[1, 1, 1, 1]]), "recall: x: expected a vector of length N"),
        (
            lambda: HopfieldNetwork(4).recall([1, 1, 1, 1], mode="sync", record="flip"),
            "record='flip' needs mode='async'",
        ),
        (lambda: HopfieldNetwork(4).energy([1, 2, 1, 1]), r"energy: s: every entry must be \+1 or -1"),
    ],
)
def test_bad_input_is_refused_with_the_argument_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_integer_n_is_a_type_error():
    with pytest.raises(TypeError, match="N must be an int"):
        HopfieldNetwork(3.5)
