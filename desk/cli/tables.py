"""What the commands print for people: rich's console for a command's output and the tables.

rich is imported here, not by ``desk.cli.common``, so that ``--help`` does not load it.
"""

from __future__ import annotations

from rich.console import Console


class OutputConsole(Console):
    """rich's console for a command's output. A reader that goes away ends the command as it
    ends the others, with ``PIPE_CLOSED`` (rich's own console exits 1, the code for a bug)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError("the reader of standard output went away")
