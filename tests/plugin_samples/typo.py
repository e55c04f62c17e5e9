"""A plugin with a misspelt hook name (plugin name: "typo")."""

from ccch_core import hookimpl


@hookimpl
def register_comands(cli):  # the hook is register_commands
    raise AssertionError("never called")
