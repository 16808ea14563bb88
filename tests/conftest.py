import os

import pytest

# Installed third-party plugins stay out of the tests unless a test loads them.
os.environ["CEGBENCH_DISABLE_PLUGIN_AUTOLOAD"] = "1"
os.environ.pop("CEGBENCH_STRICT_PLUGINS", None)
os.environ.pop("CEGBENCH_LOAD_PLUGINS", None)


@pytest.fixture(scope="session")
def catalog():
    from cegbench.plugin_manager import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def components(catalog):
    return catalog.components


def pytest_report_header(config):
    import sqlite3

    import sqlite_utils
    import torch

    return (f"torch {torch.__version__}, SQLite {sqlite3.sqlite_version}, "
            f"sqlite-utils {sqlite_utils.__version__}")
