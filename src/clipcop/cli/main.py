"""The ``clipcop`` entry point: the Typer app and a ``main()`` that turns known errors into one line."""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import typer
from typer.core import TyperCommand

try:  # Typer 0.20+ vendors Click as typer._click; older releases depend on the click package
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - depends on the installed Typer
    from click import exceptions as click_exceptions  # type: ignore[no-redef,import-not-found]

from clipcop._version import __version__
from clipcop.cli import (
    curriculum_cmd,
    data_cmd,
    demo_cmd,
    extract_cmd,
    finetune_cmd,
    info_cmd,
    pretrain_cmd,
    report_cmd,
    retrieve_cmd,
    vqa_cmd,
)
from clipcop.cli.internal_error import INTERNAL_ERROR, internal_error
from clipcop.cli.options import PANEL_ORDER
from clipcop.errors import ClipcopError
from clipcop.processes import interrupts
from clipcop.processes.interrupts import INTERRUPTED

app = typer.Typer(
    name="clipcop",
    help="Self-supervised video representation learning by Video Clip Order Prediction.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data_cmd.app, name="data")
app.add_typer(curriculum_cmd.app, name="curriculum")
app.add_typer(vqa_cmd.app, name="vqa")
app.command("pretrain")(pretrain_cmd.pretrain)
app.command("extract")(extract_cmd.extract)
app.command("retrieve")(retrieve_cmd.retrieve)
app.command("finetune")(finetune_cmd.finetune)
app.command("info")(info_cmd.info)
app.command("demo")(demo_cmd.demo)
app.command("report")(report_cmd.report)


def _reflow(doc: str) -> str:
    """A docstring as help text: each prose paragraph on one line (the terminal wraps it), indented lines kept.

    Rich help dedents everything after the first paragraph as one block, which would strip the indentation of
    examples that come right after it; a blank line in front of that block keeps them indented.
    """
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    out = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        if any(line.startswith(" ") for line in lines):  # examples: one command per line
            out.append(paragraph)
        else:
            out.append(" ".join(line.strip() for line in lines))
    if len(out) > 1 and any(line.startswith(" ") for line in "\n".join(out[1:]).splitlines()):
        out[1] = "\n" + out[1]
    return "\n\n".join(out)


class _PanelOrderedCommand(TyperCommand):
    """A command whose ``--help`` shows its option panels in :data:`~clipcop.cli.options.PANEL_ORDER`,
    whatever the order of the function's parameters (each option keeps its place within its panel)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        rank = {name: index for index, name in enumerate(PANEL_ORDER)}
        return sorted(params, key=lambda param: rank.get(getattr(param, "rich_help_panel", None) or "", -1))


def _polish_help(typer_app: typer.Typer) -> None:
    """Rich help keeps a docstring's line breaks; reflow them so paragraphs wrap at the terminal's width. And
    order each command's option panels."""
    for command in typer_app.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _reflow(command.callback.__doc__)
        if command.cls in (None, TyperCommand):
            command.cls = _PanelOrderedCommand
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _polish_help(group.typer_instance)


_polish_help(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"clipcop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="On an internal error (a bug), show Python's traceback instead of one line (also CLIPCOP_DEBUG=1).",
    ),
) -> None:
    """Self-supervised video representation learning by Video Clip Order Prediction."""
    internal_error.debug = internal_error.debug or debug


def _one_line_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> str:
    return f"warning: {message}\n"


def _os_error_line(err: OSError) -> str:
    """``cannot create PATH: File exists`` and the like, from an OSError's errno fields (both paths if two)."""
    where = " -> ".join(str(name) for name in (err.filename, err.filename2) if name is not None)
    if not where:
        return str(err.strerror)
    verb = "create" if isinstance(err, FileExistsError) else "access"
    return f"cannot {verb} {where}: {err.strerror}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors end in one ``clipcop: error: ...`` line and exit code 2, Ctrl-C in exit code 130.

    Under torchrun the process group is left before returning (see
    :func:`clipcop.engine.distributed.leave_distributed`).
    """
    with interrupts.remembered():
        code = _run(argv)
    # Only a command that could join a group loaded this module; never import it here: after a Ctrl-C
    # during start-up torch may be half imported. An interrupted process just ends.
    leave = getattr(sys.modules.get("clipcop.engine.distributed"), "leave_distributed", None)
    if leave is not None and code != INTERRUPTED:
        leave(wait=code == 0)
    return code


class _Ending(NamedTuple):
    """How a command ends: its exit code (Typer's may be any object, see :func:`_exit_code`) and the text
    for stderr and stdout ("" for none)."""

    code: object
    stderr: str = ""
    stdout: str = ""


def _aborted(err: typer.Abort) -> _Ending:
    if isinstance(err.__context__, KeyboardInterrupt):  # Click without Typer's Exit(130)
        return _Ending(INTERRUPTED)
    return _Ending(INTERRUPTED, "clipcop: aborted\n")


def _help(err: click_exceptions.NoArgsIsHelpError) -> _Ending:
    return _Ending(0, stdout=err.ctx.get_help() + "\n" if err.ctx else "")


def _usage(err: click_exceptions.UsageError) -> _Ending:
    """``clipcop pretrain: error: ...`` naming the (sub)command, or ``clipcop: error: ...`` for the root."""
    command = " ".join(err.ctx.command_path.split()[1:]) if err.ctx else ""
    where = f"clipcop {command}" if command else "clipcop"
    # Typer checks a choice with a validator whose message starts "Value error, "; the rest is the message
    message = err.format_message().replace("Value error, ", "", 1)
    return _Ending(2, f"{where}: error: {message} (see --help)\n")


def _os_error(err: OSError) -> _Ending | None:
    if err.strerror is None:  # not from the operating system (e.g. re-raised from a worker): keep the traceback
        return None
    return _Ending(2, f"clipcop: error: {_os_error_line(err)}\n")


_ERRORS: tuple[tuple[type[BaseException], Callable[[Any], _Ending | None]], ...] = (
    (typer.Exit, lambda done: _Ending(done.exit_code)),
    (typer.Abort, _aborted),
    (click_exceptions.NoArgsIsHelpError, _help),
    (click_exceptions.UsageError, _usage),
    (click_exceptions.ClickException, lambda err: _Ending(err.exit_code, f"clipcop: error: {err.format_message()}\n")),
    (ClipcopError, lambda err: _Ending(err.exit_code, f"clipcop: error: {' '.join(str(err).split())}\n")),
    (KeyboardInterrupt, lambda _: _Ending(INTERRUPTED)),
    (OSError, _os_error),
)
"""How each error a command may raise ends it, checked in order (the first row whose type matches); a row
that answers None leaves the error to Python (a traceback)."""

_CAUGHT = tuple(kind for kind, _ in _ERRORS)


def _ending(err: BaseException) -> _Ending | None:
    """The ending of the first row of :data:`_ERRORS` that ``err`` is an instance of."""
    return next(handle(err) for kind, handle in _ERRORS if isinstance(err, kind))


def _exit_code(code: object) -> int:
    """A command's result as an exit code: an integer is one, anything else (None, a bool) is success."""
    return code if isinstance(code, int) and not isinstance(code, bool) else 0


def _caused_by_interrupt(err: BaseException) -> bool:
    """Whether ``err`` was raised because of a Ctrl-C: Python wraps a KeyboardInterrupt that lands while a
    class is being created (as during torch's import) in a RuntimeError, with the interrupt as its cause."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _run(argv: Sequence[str] | None) -> int:
    """The command's exit code; Typer turns Ctrl-C inside a command into 130, a command's integer result
    is its exit code, and known errors become one line (:data:`_ERRORS`)."""
    warnings.formatwarning = _one_line_warning  # type: ignore[assignment]
    args = list(argv) if argv is not None else sys.argv[1:]
    internal_error.start()
    command: Any = None  # built inside the guard: a Ctrl-C may land while Typer builds it
    try:
        command = built = typer.main.get_command(app)
        ending = _Ending(built.main(args=args, prog_name="clipcop", standalone_mode=False))
    except _CAUGHT as err:
        caught = _ending(err)
        ending = caught if caught is not None else _Ending(INTERNAL_ERROR, internal_error.line(err, command, args))
    except Exception as err:  # a bug: one line, the traceback in a file (--debug: Python's own report)
        if _caused_by_interrupt(err):
            ending = _Ending(INTERRUPTED)
        else:
            ending = _Ending(INTERNAL_ERROR, internal_error.line(err, command, args))
    if ending.stdout:
        sys.stdout.write(ending.stdout)
    line = ending.stderr or ("clipcop: interrupted\n" if ending.code == INTERRUPTED else "")
    if line:
        sys.stderr.write(line)
    return _exit_code(ending.code)


if __name__ == "__main__":
    sys.exit(main())
