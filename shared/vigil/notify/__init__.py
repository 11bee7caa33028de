"""Notifications: one module per channel, registered once in ``vigil.notify.registry``.

This package's ``__init__`` imports nothing: validating ``notifications:`` (which
every configuration load does) reads only the registry, and a channel's module is
loaded when the notifier first delivers to it.
"""
