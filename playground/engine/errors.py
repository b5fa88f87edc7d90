"""The one exception a user of the engine needs to catch."""

from __future__ import annotations


class BankError(ValueError):
    """A bank, bank file or engine request that cannot be honoured.

    The message names the place ("layer 2, filter 'b': ...") so a user can fix the file.
    """
