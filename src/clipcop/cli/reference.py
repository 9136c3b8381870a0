"""The CLI reference in Markdown, generated from the Typer app (``docs/cli.md`` is this output).

``python -m clipcop.cli.reference > docs/cli.md``; a test fails when the committed file drifts.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import typer

from clipcop.cli.main import app


def _param_row(param: Any) -> str:
    names = ", ".join(f"`{opt}`" for opt in getattr(param, "opts", []) + getattr(param, "secondary_opts", []))
    kind = getattr(param, "param_type_name", "option")
    help_text = " ".join((getattr(param, "help", None) or "").split())
    default = getattr(param, "default", None)
    shown = ""
    if kind == "argument":
        names = f"`{param.name.upper()}`"
    elif getattr(param, "is_flag", False):
        shown = ""
    elif default not in (None, "", ()) and not callable(default):
        shown = f" (default: `{default}`)"
    return f"| {names} | {help_text}{shown} |"


def _command_section(path: str, command: Any) -> list[str]:
    lines = [f"## `{path}`", ""]
    doc = inspect.cleandoc(command.help or "")
    if doc:
        lines += ["```text", doc, "```", ""]
    params = [p for p in command.params if p.name not in ("help",)]
    if params:
        lines += ["| option | meaning |", "| --- | --- |"] + [_param_row(p) for p in params] + [""]
    return lines


def render() -> str:
    """The whole reference, one section per command, in command order."""
    root = typer.main.get_command(app)
    lines = [
        "# CLI reference",
        "",
        "Generated from the Typer app by `python -m clipcop.cli.reference`; do not edit by hand.",
        "",
    ]

    def walk(prefix: str, command: Any) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name in subcommands:
                walk(f"{prefix} {name}", subcommands[name])
        else:
            lines.extend(_command_section(prefix, command))

    walk("clipcop", root)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
