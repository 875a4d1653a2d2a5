"""Exceptions of the public API that need nothing heavy to import (the demo and the CLI catch them)."""


class Cancelled(Exception):
    """`optimize` was stopped through its `cancel` event (raised within one loss evaluation)."""
