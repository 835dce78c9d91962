"""The one error class of bad input: what the user asked cannot be done as asked.

Every check of a flag, a key, a name or a file raises a subclass naming the thing at fault;
the CLI prints the message and exits 2. Data errors come from cvae_study.datasets, which
imports nothing of study, as subclasses of its own DataError; the CLI treats both alike.
"""

from cvae_study.datasets.errors import DataError


class UsageError(ValueError):
    """Bad input; the message names the flag, key, name or file at fault."""


BAD_INPUT = (UsageError, DataError)
