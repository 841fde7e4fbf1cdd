"""Exports of a check as files a team keeps: Markdown, CSV, JSON (with its schema) and an HTML page.

Pure formatters: one :class:`bot.core.export.source.Source` (the report model, the summary, the
record) in, text out. The service side is :mod:`bot.exports`; the files go out through the outbox.
"""
