"""The ``cegbench`` command line: the click group and its commands, one module per
command group (``run``, ``results``, ``exchange``, ``catalogue``, ``data``). Commands
stay thin: parse, call the library, print, turn domain errors into messages. The sweep
itself (tuning, the execute loop, analysing and storing verdicts) is ``cegbench.sweep``;
the CLI shows its progress (``terminal.ClickProgress``). The CLI and ``sweep`` are the
only modules that wire the stages (plugins → plan → execute → registry → analysis →
site) together.
"""

from __future__ import annotations

import click

from cegbench import __version__
from cegbench.cli import catalogue, exchange, results
from cegbench.cli import run as run_commands
from cegbench.cli.common import Group
from cegbench.cli.data import data_group


@click.group(cls=Group)
@click.version_option(__version__, prog_name="cegbench")
def cli():
    """cegbench: what an algorithmic innovation is worth in compute, and whether
    that worth grows with scale.

    Example: cegbench run --tier smoke && cegbench site
    """


for command in (run_commands.run, run_commands.analyze, results.show, catalogue.list_, catalogue.plugins,
                results.site, results.table, run_commands.status, exchange.export, exchange.import_,
                results.validity, catalogue.plan, data_group):
    cli.add_command(command)

if __name__ == "__main__":
    cli()
