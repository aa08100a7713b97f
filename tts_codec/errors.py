"""The one exception type for user mistakes, so CLIs can report them as a single line instead of a traceback."""


class UserError(Exception):
    """A problem with the user's input (a file, a line, an argument); the message names it."""
