"""The one exception type for problems a user can cause (bad files, bad columns, bad settings)."""


class InputError(ValueError):
    """A problem with the user's data or settings.

    The message names the file, column, row or value at fault; the CLI prints it on one line and exits with code 2.
    """
