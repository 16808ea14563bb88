"""``python -m cegbench.cli``: the ``cegbench`` command."""

from cegbench.cli.main import cli

cli()
