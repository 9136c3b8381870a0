"""Check that ``pip install clipcop`` resolves from wheels alone on every platform the project supports.

For each platform (Linux x86_64 and aarch64, macOS arm64, Windows AMD64) and Python version, the runtime
requirements are read from ``pyproject.toml`` and

    pip install --dry-run --ignore-installed --only-binary=:all: --platform TAG ... --python-version X
        --implementation cp --abi cpXY --abi abi3 --abi none --report - REQUIREMENTS

resolves them without downloading a wheel (PyPI serves each wheel's metadata apart, PEP 658), with every
environment marker (torch's dependencies' too) evaluated for the target, not for this machine. Prints a
table of platform x Python: the video decoder and torch that resolved, or the failure; exits 1 on any.

    python scripts/check_platforms.py [--python 3.10,3.13] [--jobs 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: the copy pip vendors
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Platform:
    """A target: the wheel tags its pip accepts (oldest supported OS first) and its marker values."""

    name: str
    tags: tuple[str, ...]
    markers: dict[str, str]


def _manylinux(arch: str) -> tuple[str, ...]:
    # glibc 2.17 (manylinux2014) up to 2.28 (RHEL 8, Debian 10, Ubuntu 18.10): pip does not widen the tag.
    return ("manylinux2014_" + arch, *(f"manylinux_2_{minor}_{arch}" for minor in range(17, 29)))


PLATFORMS = (
    Platform(
        "linux x86_64",
        _manylinux("x86_64"),
        {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix"},
    ),
    Platform(
        "linux aarch64",
        _manylinux("aarch64"),
        {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64", "os_name": "posix"},
    ),
    Platform(
        "macOS 14 arm64",
        tuple(f"macosx_{major}_0_arm64" for major in range(11, 15)),
        {
            "sys_platform": "darwin",
            "platform_system": "Darwin",
            "platform_machine": "arm64",
            "os_name": "posix",
            "platform_release": "23.0.0",  # Darwin 23 is macOS 14
        },
    ),
    Platform(
        "windows AMD64",
        ("win_amd64",),
        {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64", "os_name": "nt"},
    ),
)


def runtime_requirements() -> list[str]:
    """``[project] dependencies`` from pyproject.toml, markers included."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def environment(platform: Platform, python: str) -> dict[str, str]:
    """PEP 508 marker values on ``platform`` under CPython ``python`` (e.g. "3.10")."""
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_version": f"{python}.0",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
        **platform.markers,
    }


_PIP_FOR_TARGET = """
import json, sys
from pip._vendor.packaging import markers
target = json.loads(sys.argv.pop(1))
markers.default_environment = lambda: dict(target)
from pip._internal.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
"""pip with the target's marker values: it evaluates every marker, its dependencies' too (torch's CUDA
wheels are Linux-only), for the machine it runs on, whatever ``--platform`` says."""


def resolve(platform: Platform, python: str, requirements: list[str], target: str) -> tuple[bool, str, str]:
    """(ok, decoder, torch) for one target, or (False, reason, "") when pip cannot resolve."""
    abi = "cp" + python.replace(".", "")
    env = json.dumps(environment(platform, python))
    command = [sys.executable, "-c", _PIP_FOR_TARGET, env, "install", "--dry-run", "--ignore-installed"]
    command += ["--only-binary=:all:"]
    command += [f"--platform={tag}" for tag in platform.tags]
    command += ["--python-version", python, "--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none"]
    command += ["--quiet", "--disable-pip-version-check", "--report", "-"]
    command += ["--target", target]  # older pip wants it beside --platform; a dry run writes nothing there
    command += requirements
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")] or ["pip failed"]
        return False, lines[0][:150], ""
    installed = {
        item["metadata"]["name"].lower(): item["metadata"]["version"] for item in json.loads(proc.stdout)["install"]
    }
    if "decord2" in installed:
        decoder = f"decord2 {installed['decord2']}"
    elif "decord" in installed:
        decoder = f"decord {installed['decord']}"
    else:
        decoder = f"PyAV {installed.get('av', '?')} only"
    return True, decoder, installed.get("torch", "?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default="3.10,3.13", help="comma-separated Python versions")
    parser.add_argument("--jobs", type=int, default=4, help="dry runs at once (they wait on the network)")
    args = parser.parse_args()
    requirements = runtime_requirements()
    targets = [(p, v) for p in PLATFORMS for v in args.python.split(",")]
    with tempfile.TemporaryDirectory() as target, ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda t: resolve(t[0], t[1], requirements, target), targets))
    print(f"{'platform':<16} {'python':<7} {'result':<7} {'decoder':<20} torch")
    for (platform, python), (ok, decoder, torch) in zip(targets, results, strict=True):
        print(f"{platform.name:<16} {python:<7} {'ok' if ok else 'FAILED':<7} {decoder:<20} {torch}", flush=True)
    failures = sum(not ok for ok, _, _ in results)
    if failures:
        print(f"{failures} of {len(targets)} targets do not resolve from wheels", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
