import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Keep the tests' digit cache out of the user's home."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NNLAB_CACHE", str(tmp_path_factory.mktemp("nnlab_cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def mnist5k(_private_cache):
    from nnlab.data import load_mnist5k

    return load_mnist5k()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
