"""A plugin whose migration set is not named after the plugin (plugin name: "wrong_set")."""

from sqlite_utils.migrations import Migrations

from ccch_core import hookimpl

migrations = Migrations("not-the-plugin-name")


@migrations()
def m001_things(db):
    db["wrong_things"].create({"id": int}, pk="id")


@hookimpl
def register_migrations(register):
    register(migrations)
