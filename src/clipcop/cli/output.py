"""Results to stdout (plain ``key: value`` lines, or one JSON object with ``--json``)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from clipcop.processes.torchrun_env import env_rank
from clipcop.results import Record, to_json, to_lines


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def emit(result: Record | dict[str, Any], *, as_json: bool) -> None:
    """Write ``result`` to stdout: JSON when asked, else one ``key: value`` line per scalar entry.

    A command's result is its :class:`~clipcop.results.Record` (JSON: :func:`~clipcop.results.to_json`, with
    ``command``, ``schema_version`` and ``clipcop_version``); a plain dict is for ``key: value`` lines only.

    Under torchrun only rank 0 writes (torchrun's ``RANK``; read from the environment, so no torch import),
    so a script reading stdout sees one result, not one per process.
    """
    if env_rank() != 0:
        return
    if isinstance(result, Record):
        result = to_json(result) if as_json else to_lines(result)
    elif as_json:
        raise TypeError("--json prints a result record, not a dict")
    if as_json:
        sys.stdout.write(json.dumps(_clean(result), sort_keys=False) + "\n")
        return
    for key, value in result.items():
        if isinstance(value, dict | list):
            continue
        if isinstance(value, float):
            value = f"{value:.4f}"
        sys.stdout.write(f"{key}: {value}\n")
    sys.stdout.flush()


def emit_lines(lines: list[str]) -> None:
    """Write ``lines`` to stdout (rank 0 alone under torchrun, like :func:`emit`)."""
    if env_rank() != 0:
        return
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    sys.stdout.flush()
