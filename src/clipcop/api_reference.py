"""The library API reference in Markdown, generated from the signatures and docstrings of the names
``import clipcop`` offers (``docs/api.md`` is this output).

``python -m clipcop.api_reference > docs/api.md``; a test fails when the committed file drifts. Only
``inspect``, the source's own docstrings and the CLI's help texts (a keyword's meaning where its field has
no docstring) go in, so the page is the same on every machine.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import sys
import textwrap
from functools import cache
from typing import Any

import typer

import clipcop
from clipcop.cli.main import app
from clipcop.config import FlatOptions, spec_fields

SECTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "Commands",
        "Each command of the CLI is a function taking the same options as keywords, under their long names "
        "(`tuple_len` for `--tl`), or a config of frozen specs, or both (keywords win). Call them under "
        '`if __name__ == "__main__":`, since clipcop\'s worker processes (spawned) import the script again.',
        (
            "pretrain",
            "PretrainConfig",
            "PretrainResult",
            "extract",
            "ExtractConfig",
            "ModelSource",
            "ExtractionStats",
            "retrieve",
            "RetrieveConfig",
            "RetrievalResult",
            "finetune",
            "FinetuneConfig",
            "FinetuneResult",
            "index_data",
        ),
    ),
    (
        "A trained model in your own code",
        "A checkpoint's 3D CNN as a `torch.nn.Module`, the pixel scaling its input needs, and fresh ones to "
        "train yourself.",
        ("load_backbone", "normalize", "build_backbone"),
    ),
    (
        "Specs",
        "The frozen parts a config is made of; each validates its own values when built.",
        ("ModelSpec", "ModelChoices", "TupleSpec", "ClipGeometry", "DataSpec", "TrainingSpec", "RunSpec"),
    ),
    (
        "Videos and datasets",
        "Decoding, dataset layouts and the built-in synthetic videos.",
        ("load_dataset", "read_frames", "probe_video", "write_synthetic", "SynthSpec"),
    ),
    (
        "Errors",
        "Every mistake a user can make raises a `ClipcopError` with a one-line message (the CLI prints it as "
        "`clipcop: error: ...`).",
        ("ClipcopError", "UsageError", "DataError", "CheckpointError"),
    ),
]
"""The page's sections, in order; every name of ``clipcop.__all__`` but ``__version__`` is in one."""

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc):`~?([^`]+)`")


def _markdown(doc: str) -> str:
    """A docstring as Markdown: ``code`` becomes `code`, Sphinx roles their target's name, doctests a block."""
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", doc).replace("``", "`")
    out: list[str] = []
    in_example = False
    for line in text.splitlines():
        example = line.startswith(">>>") or (in_example and line.strip() != "")
        if example and not in_example:
            out.append("```python")
        elif in_example and not example:
            out.append("```")
        in_example = example
        out.append(line.replace("  # doctest: +SKIP", "") if example else line)
    if in_example:
        out.append("```")
    return "\n".join(out)


def _split_top_level(params: str) -> list[str]:
    """Split a parameter list at the commas that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(params):
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            parts.append(params[start:i].strip())
            start = i + 1
    parts.append(params[start:].strip())
    return [part for part in parts if part]


class _Annotation:
    """An annotation's source text, shown as written (``inspect`` would quote a string)."""

    def __init__(self, text: Any) -> None:
        self.text = text if isinstance(text, str) else inspect.formatannotation(text)

    def __repr__(self) -> str:
        return str(self.text)


def _unquoted(signature: inspect.Signature) -> inspect.Signature:
    empty = inspect.Signature.empty
    params = [
        p.replace(annotation=_Annotation(p.annotation)) if p.annotation is not empty else p
        for p in signature.parameters.values()
    ]
    returns = signature.return_annotation
    return signature.replace(
        parameters=params, return_annotation=_Annotation(returns) if returns is not empty else empty
    )


def _signature(name: str, obj: Any) -> str:
    """``clipcop.name(...) -> ...``, one parameter a line when it does not fit in 100 characters."""
    text = f"clipcop.{name}{_unquoted(inspect.signature(obj))}"
    if len(text) <= 100:
        return text
    head, rest = text.split("(", 1)
    params, _, returns = rest.rpartition(")")
    lines = [f"{head}("] + [f"    {part}," for part in _split_top_level(params)] + [f"){returns}"]
    return "\n".join(lines)


@cache
def _field_docs(cls: type) -> dict[str, str]:
    """The docstrings written under the fields of ``cls`` and its clipcop bases (a string right after a field);
    parsed once per class (the tables ask for a class's docs row by row)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("clipcop"):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0]
        assert isinstance(body, ast.ClassDef)
        for stmt, after in zip(body.body, body.body[1:], strict=False):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[stmt.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return docs


COMMANDS = {
    "PretrainConfig": "pretrain",
    "ExtractConfig": "extract",
    "RetrieveConfig": "retrieve",
    "FinetuneConfig": "finetune",
}
"""The command whose flags each config's keywords are; specs take ``pretrain``'s, ``ModelSource`` ``extract``'s."""


@cache
def _flags(command: str) -> dict[str, tuple[str, str]]:
    """``keyword -> (flag, help)`` of a CLI command: the command calls its library function with these keywords."""
    found: dict[str, tuple[str, str]] = {}
    for param in typer.main.get_command(app).commands[command].params:  # type: ignore[attr-defined]
        opts = [opt for opt in getattr(param, "opts", []) if opt.startswith("--")]
        if param.name and opts:
            found[param.name] = (opts[0], " ".join((getattr(param, "help", None) or "").split()))
    return found


class _Computed(str):
    """A default computed when the spec is made (``default_workers()``): shown by its function's name, since
    its value depends on the machine that generates the page."""


def _default(item: dataclasses.Field[Any]) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    factory = item.default_factory
    if factory is dataclasses.MISSING:
        return dataclasses.MISSING
    value = factory()
    if isinstance(factory, type) or dataclasses.is_dataclass(value):  # a spec, a list: the same on every machine
        return value
    return _Computed(f"{getattr(factory, '__name__', 'a function')}()")


def _shown(value: Any) -> str:
    if value is dataclasses.MISSING:
        return "required"
    if isinstance(value, _Computed):
        return f"`{value}`"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return f"`{type(value).__name__}()`" if value == type(value)() else "see its fields"
    return f"`{value!r}`"


def _cell(text: str) -> str:
    return " ".join(_markdown(text).split()).replace("|", "\\|")


def _field_table(cls: type, flags: dict[str, tuple[str, str]]) -> list[str]:
    """A dataclass's fields: name, type, default and the docstring under each (else the flag's help)."""
    docs = _field_docs(cls)
    rows = ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    for item in dataclasses.fields(cls):
        if item.name.startswith("_"):
            continue
        flat = str(item.metadata.get("flat", item.name))
        meaning = _cell(docs.get(item.name) or flags.get(flat, ("", ""))[1])
        rows.append(f"| `{item.name}` | `{_cell(str(item.type))}` | {_shown(_default(item))} | {meaning} |")
    return rows


def _keyword_table(cls: type) -> list[str]:
    """A config's flat keywords (what the function takes): the spec field each sets, its type and default."""
    flags = _flags(COMMANDS[cls.__name__])
    rows = ["| keyword | flag | field | type | default | meaning |", "| --- | --- | --- | --- | --- | --- |"]
    own = {item.name: item for item in dataclasses.fields(cls)}
    for flat, (spec, name) in spec_fields(cls).items():
        if spec is None:
            item, default, docs = own[name], _default(own[name]), _field_docs(cls)
            where = f"`{name}`"
        else:
            holder = _default(own[spec])
            item = next(f for f in dataclasses.fields(holder) if f.name == name)
            computed = _default(item)
            default = computed if isinstance(computed, _Computed) else getattr(holder, name)
            spec_type: type = type(holder)
            docs = _field_docs(spec_type)
            where = f"`{spec}.{name}`"
        flag, help_text = flags.get(flat, ("", ""))
        meaning = _cell(docs.get(name) or help_text)
        shown_flag = f"`{flag}`" if flag else ""
        rows.append(
            f"| `{flat}` | {shown_flag} | {where} | `{_cell(str(item.type))}` | {_shown(default)} | {meaning} |"
        )
    return rows


def _methods(cls: type) -> list[str]:
    """The public methods clipcop defines on ``cls`` (and its clipcop bases), each with its first line."""
    lines: list[str] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("clipcop"):
            continue
        for name, member in vars(klass).items():
            function = member.__func__ if isinstance(member, classmethod | staticmethod) else member
            if name.startswith("_") or name in seen or not inspect.isfunction(function):
                continue
            seen.add(name)
            summary = (inspect.getdoc(function) or "").split("\n\n")[0]
            signature = inspect.signature(function)
            params = list(signature.parameters.values())
            if params and params[0].name in ("self", "cls"):
                signature = signature.replace(parameters=params[1:])
            lines.append(f"- `{name}{_unquoted(signature)}`: {_cell(summary)}")
    return sorted(lines)


def _entry(name: str, section: str) -> list[str]:
    obj = getattr(clipcop, name)
    kind = "exception" if isinstance(obj, type) and issubclass(obj, BaseException) else "class"
    kind = kind if isinstance(obj, type) else "function"
    lines = [f"### `clipcop.{name}`", "", f"*{kind}*, from `{obj.__module__}`", ""]
    if not dataclasses.is_dataclass(obj) and kind != "exception":
        lines += ["```python", _signature(name, obj), "```", ""]
    lines += [_markdown(inspect.getdoc(obj) or ""), ""]
    if isinstance(obj, type) and dataclasses.is_dataclass(obj):
        if issubclass(obj, FlatOptions):
            lines += ["Keywords (the function's and `from_options`'s):", "", *_keyword_table(obj), ""]
        else:
            flags = _flags("extract") if name == "ModelSource" else _flags("pretrain") if section == "Specs" else {}
            lines += [*_field_table(obj, flags), ""]
    if isinstance(obj, type) and kind == "class":
        methods = _methods(obj)
        if methods:
            lines += ["Methods:", "", *methods, ""]
    return lines


def render() -> str:
    """The whole page: the sections in order, each name with its signature, docstring and fields."""
    listed = [name for _, _, names in SECTIONS for name in names]
    public = [name for name in clipcop.__all__ if name != "__version__"]
    if sorted(listed) != sorted(public):
        missing, extra = set(public) - set(listed), set(listed) - set(public)
        raise RuntimeError(f"api_reference.SECTIONS is out of date: missing {sorted(missing)}, extra {sorted(extra)}")
    lines = [
        "# Library API reference",
        "",
        "Generated from the signatures and docstrings of the names `import clipcop` offers, by",
        "`python -m clipcop.api_reference`; do not edit by hand. Every name loads on first use, so",
        "`import clipcop` itself stays fast. The [CLI reference](cli.md) lists the same options as flags.",
        "",
        "```python",
        "import clipcop",
        "",
        'if __name__ == "__main__":',
        '    run = clipcop.pretrain(arch="r3d", tuple_len=3, data="synthetic", width=16, epochs=5)',
        "    source = clipcop.ModelSource(checkpoint=str(run.best_checkpoint))",
        '    found = clipcop.retrieve(source=source, data="synthetic")',
        "    backbone = clipcop.load_backbone(run.best_checkpoint)  # a torch.nn.Module in eval mode",
        "```",
        "",
    ]
    for title, intro, names in SECTIONS:
        lines += [f"## {title}", "", intro, ""]
        for name in names:
            lines += _entry(name, title)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
