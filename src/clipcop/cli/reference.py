"""The CLI reference in Markdown, generated from the Typer app and the result records of
:mod:`clipcop.results` (``docs/cli.md`` is this output).

``python -m clipcop.cli.reference > docs/cli.md``; a test fails when the committed file drifts.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any

import typer

from clipcop.cli.main import app
from clipcop.results import ENVELOPE_SCHEMA, SCHEMA_VERSION, FieldSchema, records_for, schema

RESULTS_INTRO = f"""## Results

With `--json` every command prints one JSON object on stdout, described under each command below
(schema version {SCHEMA_VERSION}). Every object starts with the same three keys:

| key | type | meaning |
| --- | --- | --- |
{{envelope}}

- Accuracies are fractions in [0, 1] everywhere: stdout, the library's result objects, `metrics.jsonl`
  and the CSV and JSON files in run folders. Tables on stderr show percentages. A NaN (e.g. a question
  type without questions) prints as `null`.
- Paths the command wrote: folders end in `_dir` (`run_dir`, `data_dir`, `qa_dir`, `cache_dir`); files
  are named for what they hold (`checkpoint`, `features`, `manifest`, `predictions`, `page`, `summary`,
  `grid`, `index`, `neighbours_csv`). Keys marked "Only with" or "Only when" are absent otherwise.
- Without `--json` the same result prints as `key: value` lines: its numbers and strings, and
  `retrieve`'s accuracies as `accuracy.clip.1: 0.3688` and so on.
- `schema_version` goes up when a key is renamed or removed or changes meaning; new keys keep it.
  The library's types are in `clipcop.results` (one record per command, `validate()` checks an object).
"""


def _choices(param: Any) -> tuple[str, ...]:
    """The values a flag takes, when they are a fixed set (Typer's description of it, or Click's ``Choice``)."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and getattr(descriptor, "is_choice", False):
        return tuple(str(choice) for choice in descriptor.choices or ())
    return tuple(str(choice) for choice in getattr(getattr(param, "type", None), "choices", None) or ())


def _param_row(param: Any) -> str:
    names = ", ".join(f"`{opt}`" for opt in getattr(param, "opts", []) + getattr(param, "secondary_opts", []))
    kind = getattr(param, "param_type_name", "option")
    help_text = " ".join((getattr(param, "help", None) or "").split())
    choices = _choices(param)
    if choices:
        help_text += " One of " + ", ".join(f"`{choice}`" for choice in choices) + "."
    default = getattr(param, "default", None)
    shown = ""
    if kind == "argument":
        names = f"`{param.name.upper()}`"
    elif getattr(param, "is_flag", False):
        shown = ""
    elif isinstance(getattr(param, "show_default", None), str):  # a default that depends on the machine
        shown = f" (default: {param.show_default})"
    elif default not in (None, "", ()) and not callable(default):
        shown = f" (default: `{default}`)"
    return f"| {names} | {help_text}{shown} |"


def _field_row(row: FieldSchema) -> str:
    meaning = row.doc + (" A fraction in [0, 1]." if row.fraction else "")
    if row.when is not None:
        meaning += f" Only with `{row.when}`." if row.when.startswith("--") else f" Only when {row.when}."
    return f"| `{row.name}` | {row.type} | {meaning} |"


def _result_section(path: str) -> list[str]:
    """The ``--json`` object of a command, one table per record type (``retrieve`` has two)."""
    lines: list[str] = []
    for record in records_for(path.removeprefix("clipcop ")):
        title = f"`--json` result ({record.TITLE})" if record.TITLE else "`--json` result"
        lines += [f"{title}, after `command`, `schema_version`, `clipcop_version`:", ""]
        lines += ["| key | type | meaning |", "| --- | --- | --- |"] + [_field_row(r) for r in schema(record)] + [""]
    return lines


def _command_section(path: str, command: Any) -> list[str]:
    lines = [f"## `{path}`", ""]
    doc = re.sub(r"\n{3,}", "\n\n", inspect.cleandoc(command.help or ""))  # help may hold a spacer line
    if doc:
        lines += ["```text", doc, "```", ""]
    params = [p for p in command.params if p.name not in ("help",)]
    if params:
        lines += ["| option | meaning |", "| --- | --- |"] + [_param_row(p) for p in params] + [""]
    return lines + _result_section(path)


def render() -> str:
    """The whole reference, one section per command, in command order."""
    root = typer.main.get_command(app)
    lines = [
        "# CLI reference",
        "",
        "Generated from the Typer app and `clipcop.results` by `python -m clipcop.cli.reference`; do not edit",
        "by hand.",
        "",
        *RESULTS_INTRO.format(envelope="\n".join(_field_row(r) for r in ENVELOPE_SCHEMA)).splitlines(),
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
