import pytest

from nnlab.data import make_spiral, train_dev_test_split


@pytest.fixture(scope="session")
def spiral():
    X, y = make_spiral(n_per_class=60, classes=3, noise=0.1, seed=0)
    return train_dev_test_split(X, y, sizes=(0.6, 0.2, 0.2), seed=0)
