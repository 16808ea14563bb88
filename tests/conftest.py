import os

import pytest

# fixtures shared by several test modules (tests/ is on sys.path: pytest's rootdir conftest mode)
pytest_plugins = ["site_fixtures"]

# Installed third-party plugins stay out of the tests unless a test loads them.
os.environ["CEGBENCH_DISABLE_PLUGIN_AUTOLOAD"] = "1"
os.environ.pop("CEGBENCH_STRICT_PLUGINS", None)
os.environ.pop("CEGBENCH_LOAD_PLUGINS", None)


@pytest.fixture(scope="session")
def catalog():
    from cegbench.catalog.plugin_manager import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def components(catalog):
    return catalog.components


@pytest.fixture(scope="module")
def one_thread():
    """Tiny matmuls: threads only add overhead (and spin on a busy machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_report_header(config):
    import sqlite3
    from importlib.metadata import version

    return (f"torch {version('torch')}, SQLite {sqlite3.sqlite_version}, "
            f"sqlite-utils {version('sqlite-utils')}")


def pytest_configure(config):
    """Token stores made by the tests go to a temporary data folder, not ~/.cache."""
    import tempfile

    os.environ.setdefault("CEGBENCH_DATA_CACHE", tempfile.mkdtemp(prefix="cegbench-test-data-"))


def pytest_unconfigure(config):
    import shutil

    folder = os.environ.get("CEGBENCH_DATA_CACHE", "")
    if "cegbench-test-data-" in folder:
        shutil.rmtree(folder, ignore_errors=True)
