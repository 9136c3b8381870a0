"""The report's HTML page: one self-contained file (pictures embedded) in the paper's order, each picture
numbered and captioned, with a provenance block saying what made it."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from clipcop._version import __version__
from clipcop.engine.atomic import write_text_atomic
from clipcop.report.figures import Output

MIME = {".png": "image/png", ".svg": "image/svg+xml"}
STYLE = (
    "body{font-family:sans-serif;max-width:1040px;margin:auto;padding:0 12px;color:#222}"
    "img{max-width:100%;display:block;margin:0 auto}figure{margin:14px 0;border:1px solid #ddd;padding:8px}"
    "figcaption{font-size:0.92em;color:#333;margin-top:6px}table{border-collapse:collapse;margin:8px 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f2f2f2}"
    "td:first-child{text-align:left}.provenance{background:#f7f7f7;border:1px solid #ddd;padding:8px 12px}"
    "pre{white-space:pre-wrap;font-size:0.85em}h2{border-bottom:2px solid #444;margin-top:32px}"
)


@dataclass(frozen=True)
class Picture:
    """A picture file and the sentence under it."""

    path: Path
    caption: str


@dataclass
class Section:
    """One part of the page: a heading, captioned pictures, small tables of numbers, and (for a run) the
    command and settings it recorded."""

    title: str
    pictures: list[Picture] = field(default_factory=list)
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)
    provenance: tuple[str, str] | None = None

    def add(self, path: Path, caption: str) -> None:
        """Show the picture ``path`` with ``caption``."""
        self.pictures.append(Picture(path, caption))


def _embed(picture: Path, out: Output) -> str:
    """An ``<img>`` carrying the picture itself (PNG, SVG) or a PDF's PNG preview, plus a link to the PDF."""
    shown = out.preview(picture)
    data = base64.b64encode(shown.read_bytes()).decode()
    name = html.escape(picture.name)
    tag = f'<img src="data:{MIME[shown.suffix]};base64,{data}" alt="{name}" title="{name}">'
    if shown != picture:
        tag += f'<a href="{html.escape(picture.name)}">{name}</a>'
    return tag


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _provenance(run_dir: Path, command: str, sections: Sequence[Section]) -> str:
    """What made the page (clipcop version, command, time) and each run's recorded command and settings."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    items = [
        f"<li>made by <code>{html.escape(command)}</code> with clipcop {html.escape(__version__)}, {when}</li>",
        f"<li>run folder: <code>{html.escape(str(run_dir.resolve()))}</code></li>",
    ]
    for section in sections:
        if section.provenance is None:
            continue
        run_command, settings = section.provenance
        shown = f"<code>{html.escape(run_command)}</code>" if run_command else "settings"
        items.append(
            f"<li>{html.escape(section.title.split(':')[0])}: {shown}"
            f"<details><summary>config.toml</summary><pre>{html.escape(settings)}</pre></details></li>"
        )
    return f"<div class='provenance'><h2>Provenance</h2><ul>{''.join(items)}</ul></div>"


def write_page(out: Output, run_dir: Path, parts: Sequence[tuple[str, list[Section]]], command: str) -> Path:
    """Write ``out.folder/index.html``: the parts in order, every picture numbered and captioned."""
    body = [f"<h1>clipcop report: {html.escape(str(run_dir))}</h1>"]
    every = [section for _, sections in parts for section in sections]
    body.append(_provenance(run_dir, command, every))
    number = 0
    for title, sections in parts:
        body.append(f"<h2>{html.escape(title)}</h2>")
        for section in sections:
            body.append(f"<h3>{html.escape(section.title)}</h3>")
            body.extend(_table(h, r) for h, r in section.tables)
            for picture in section.pictures:
                number += 1
                caption = f"<figcaption><b>Figure {number}.</b> {html.escape(picture.caption)}</figcaption>"
                body.append(f"<figure>{_embed(picture.path, out)}{caption}</figure>")
    head = f"<head><meta charset='utf-8'><title>clipcop report</title><style>{STYLE}</style></head>"
    page = out.folder / "index.html"
    write_text_atomic(page, f"<!doctype html><html>{head}<body>{''.join(body)}</body></html>")
    return page
