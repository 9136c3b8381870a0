"""torchrun's process variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``), read without importing torch.

A value that is not a whole number (a leftover ``export RANK=master`` in a job script) is a
:class:`~clipcop.errors.UsageError` naming the variable, not a ``ValueError`` traceback.
"""

from __future__ import annotations

import os

from clipcop.errors import UsageError


def _whole_number(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise UsageError(
            f"environment variable {name}={text!r} is not a whole number; torchrun sets it, unset it otherwise"
        ) from None
    if value < 0:
        raise UsageError(f"environment variable {name}={value} is negative; torchrun sets it, unset it otherwise")
    return value


def env_rank() -> int:
    """This process's global rank as torchrun set it (0 outside torchrun)."""
    return _whole_number("RANK", 0)


def env_world_size() -> int:
    """Number of processes in the torchrun job (1 outside torchrun)."""
    return max(_whole_number("WORLD_SIZE", 1), 1)


def env_local_rank() -> int:
    """This process's rank on its machine, i.e. which GPU it takes (0 outside torchrun)."""
    return _whole_number("LOCAL_RANK", 0)
