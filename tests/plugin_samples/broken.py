"""A plugin that fails to import (plugin name: "broken")."""

raise ImportError("broken test plugin: a dependency is missing (ccch_no_such_dependency)")
