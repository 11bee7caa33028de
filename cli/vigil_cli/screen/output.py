"""Terminal output: rich tables and colours on a terminal, plain text everywhere else.

When stdout is not a TTY (CI, pipes, files) the same calls print plain, aligned
text: no colour codes, no box drawing, no wrapping of long lines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {
    "healthy": "green",
    "degraded": "yellow",
    "unhealthy": "bold red",
    "error": "magenta",
    "unknown": "dim",
}
EVENT_STYLES = {
    "failure": "bold red",
    "degraded": "yellow",
    "recovery": "green",
    "reminder": "red",
    "error_rate": "yellow",
    "error_rate_cleared": "green",
    "monitor": "magenta",
}
PLAIN_WIDTH = 200  # plain output is not wrapped below this

Cell = str | Text


def shown(path: Path) -> str:
    """The path as the user would type it: relative to the working directory if inside it."""
    try:
        return (
            os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
        )
    except ValueError:
        return str(path)


class Screen:
    """Where the CLI prints. ``tty`` says whether styles and boxes are used."""

    def __init__(self, file: IO[str] | None = None):
        self.file = file if file is not None else sys.stdout
        isatty = getattr(self.file, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.console = Console(
            file=self.file,
            highlight=False,
            emoji=False,
            force_terminal=self.tty,
            no_color=not self.tty,
            width=None if self.tty else PLAIN_WIDTH,
        )

    # text --------------------------------------------------------------------------------
    def line(self, text: Cell = "", style: str | None = None) -> None:
        body = text if isinstance(text, Text) else Text(text)
        if style:
            body.stylize(style)
        self.console.print(body, soft_wrap=not self.tty)

    def heading(self, text: str) -> None:
        if self.tty:
            self.console.rule(Text(text, style="bold"), align="left")
        else:
            self.line(f"== {text} ==")

    def note(self, text: str) -> None:
        self.line(text, "dim")

    def success(self, text: str) -> None:
        self.line(text, "bold green")

    def problem(self, text: str) -> None:
        self.line(text, "bold red")

    def config_problems(self, heading: str, problems: Iterable[tuple[str, str]]) -> None:
        """``heading`` as a problem, then each configuration problem with its key path."""
        self.problem(heading)
        for key_path, message in problems:
            self.line(f"  {key_path}: {message}")

    def status(self, status: str, text: str | None = None) -> Text:
        """``text`` (default: the status itself) styled as ``status``."""
        return Text(text if text is not None else status, style=STATUS_STYLES.get(status, ""))

    # blocks ------------------------------------------------------------------------------
    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        *,
        title: str | None = None,
        wrap: Sequence[str] = ("reason",),
    ) -> None:
        """Aligned columns: ruled on a terminal, plain text otherwise.

        On a narrow terminal only the ``wrap`` columns wrap; the others keep one line.
        """
        if title and not self.tty:
            self.line(title)
        table = Table(
            title=Text(title, style="bold") if title and self.tty else None,
            title_justify="left",
            box=box.SIMPLE_HEAD if self.tty else None,
            show_edge=False,
            show_header=True,
            header_style="bold" if self.tty else "",
            pad_edge=False,
            padding=(0, 1, 0, 0) if self.tty else (0, 1),
        )
        for column in columns:
            table.add_column(column, no_wrap=not self.tty or column not in wrap)
        for row in rows:
            table.add_row(*[cell if isinstance(cell, Text) else Text(str(cell)) for cell in row])
        if self.tty:
            self.console.print(table)
            return
        with self.console.capture() as captured:
            self.console.print(table)
        for text_line in captured.get().splitlines():
            self.file.write(text_line.rstrip() + "\n")

    def block(self, title: str, body: str, *, style: str = "", indent: int = 2) -> None:
        """A framed block of text on a terminal; an indented one otherwise."""
        if self.tty:
            panel = Panel(
                Text(body),
                title=Text(title, style=style or "bold"),
                title_align="left",
                border_style=style or "dim",
                expand=False,
                padding=(0, 1),
            )
            self.console.print(panel)
            return
        pad = " " * indent
        self.line(f"{pad}{title}")
        for body_line in body.splitlines():
            self.line(f"{pad}  {body_line}" if body_line else "")
