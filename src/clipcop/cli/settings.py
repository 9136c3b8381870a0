"""A command's settings from its flags and an optional ``--config FILE.toml``: the flags given on the command
line win over the file, the file wins over the defaults of the library's config types."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import typer

from clipcop.config import parse_size, spec_fields
from clipcop.settings_file import read_settings, settings_to_config

C = TypeVar("C")

CLI_ONLY = frozenset({"json_out", "quiet", "config_file"})
"""Parameters of the command line alone: how results are shown, and the settings file itself."""

CONVERTERS: dict[str, Callable[[Any], Any]] = {"resize": parse_size}
"""Flags given as text that the library takes typed (``128x171`` -> ``(128, 171)``)."""


def given_flags(ctx: typer.Context) -> dict[str, Any]:
    """The command's parameters set on the command line (or by the environment), by name, converted to the
    library's types; those left at their defaults are not included, so the library's defaults apply."""
    given: dict[str, Any] = {}
    for name, value in ctx.params.items():
        if name in CLI_ONLY:
            continue
        source = ctx.get_parameter_source(name)
        if source is None or source.name in ("DEFAULT", "DEFAULT_MAP"):  # Click's enum, vendored or not
            continue
        given[name] = CONVERTERS[name](value) if name in CONVERTERS and value is not None else value
    return given


def dotted(
    config_type: type, options: Mapping[str, Any], keys: Mapping[str, tuple[str, ...]] | None = None
) -> dict[str, Any]:
    """Flat keywords as dotted settings keys of ``config_type`` (``epochs`` -> ``training.epochs``); ``keys``
    names those whose flag and key differ (``checkpoint`` -> ``source.checkpoint``)."""
    names = spec_fields(config_type)
    out: dict[str, Any] = {}
    for name, value in options.items():
        if keys and name in keys:
            out.update(dict.fromkeys(keys[name], value))
            continue
        spec, inner = names.get(name, (None, name))
        out[f"{spec}.{inner}" if spec else inner] = value
    return out


def resolve(
    config_type: type[C],
    config_file: str | None,
    options: Mapping[str, Any],
    *,
    keys: Mapping[str, tuple[str, ...]] | None = None,
    build: Callable[[dict[str, Any]], C] | None = None,
) -> C:
    """``config_type`` from ``options`` (flat keywords, e.g. :func:`given_flags`) over ``config_file``.

    Without a file, ``build(options)`` (default: ``config_type.from_options``) makes the config, so the
    library's defaults apply to every flag not given.
    """
    if config_file is None:
        if build is not None:
            return build(dict(options))
        return config_type.from_options(**options)  # type: ignore[attr-defined, no-any-return]
    settings = read_settings(config_file)
    return settings_to_config(config_type, settings, source=config_file, overrides=dotted(config_type, options, keys))
