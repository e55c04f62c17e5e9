"""ccch-reminders: remind units whose monthly report is overdue (nhắc báo cáo), keep a log.

An example ccch plugin, built step by step in docs/plugins.md. The hooks are in
:mod:`ccch_reminders.plugin` (the entry point); the rules in :mod:`ccch_reminders.reminders`.
"""
