"""The choices the specs accept (``clipcop.config``, the bottom layer) are the ones the layers above
implement: a new backbone or decoder must be added to both, and this test says so."""

from __future__ import annotations

from clipcop.backbones import ARCHS
from clipcop.config import ARCH_NAMES, BACKENDS, ModelSpec
from clipcop.videos.decoder import _backend_modules


def test_the_arch_choices_are_the_registered_backbones() -> None:
    assert set(ARCH_NAMES) == set(ARCHS)
    assert ModelSpec().arch in ARCHS


def test_the_backend_choices_are_the_decoders_and_auto() -> None:
    assert set(BACKENDS) == {"auto", *_backend_modules()}
