"""The data sets' error class: DataError, the base of every bad-input error of datasets/.

Each data module raises its own subclass (TenseDataError, VideoDataError); a caller that
treats bad data alike catches DataError. It is a ValueError, so older `except ValueError`
code still catches it.
"""


class DataError(ValueError):
    """Bad input data or a bad data argument; the message names the file, line or value at fault."""
