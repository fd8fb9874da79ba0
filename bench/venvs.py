"""Virtualenvs the benchmark makes for itself: LocalStack's, and one per peer library.

They live under ``bench/.venvs/`` (git-ignored), one per name, and are remade
when the requirements asked for change. Installing goes through pip, with
whatever index configuration pip has here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

VENVS = Path(__file__).parent / ".venvs"
_MARKER = "bench-requirements.txt"


class VenvError(RuntimeError):
    """A virtualenv the benchmark needs cannot be made; the message says what to install."""


def find_python(minimum: tuple[int, int]) -> Path | None:
    """Return an interpreter of at least ``minimum`` (major, minor) that runs, or None.

    Looks at ``BENCH_PYTHON``, this interpreter, ``python3.X`` on PATH for X up
    to 3.19, then pyenv's installed versions (its shims fail for versions that
    are installed but not selected).
    """
    candidates: list[str] = []
    if os.environ.get("BENCH_PYTHON"):
        candidates.append(os.environ["BENCH_PYTHON"])
    candidates.append(sys.executable)
    for minor in range(minimum[1], 20):
        found = shutil.which(f"python{minimum[0]}.{minor}")
        if found:
            candidates.append(found)
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv.is_dir():
        candidates += [str(p / "bin" / "python3") for p in sorted(pyenv.iterdir(), reverse=True)]
    for candidate in candidates:
        if _version(candidate) >= minimum:
            return Path(candidate)
    return None


def _version(python: str) -> tuple[int, int]:
    try:
        out = subprocess.run(  # noqa: S603 - an interpreter found above
            [python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return (0, 0)
    return (int(out[0]), int(out[1]))


def ensure_venv(name: str, python: Path, requirements: list[str]) -> Path:
    """Make (once) ``bench/.venvs/NAME`` with ``requirements``; return its interpreter."""
    root = VENVS / name
    venv_python = root / "bin" / "python"
    wanted = "\n".join([str(python), *requirements]) + "\n"
    marker = root / _MARKER
    if venv_python.exists() and marker.exists() and marker.read_text(encoding="utf-8") == wanted:
        return venv_python
    print(f"making bench/.venvs/{name}: {' '.join(requirements)}", file=sys.stderr, flush=True)
    if root.exists():
        shutil.rmtree(root)
    try:
        subprocess.run([str(python), "-m", "venv", str(root)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603 - pip of the venv just made
            [str(venv_python), "-m", "pip", "install", "--quiet", *requirements],
            check=True,
        )
    except subprocess.CalledProcessError as error:
        shutil.rmtree(root, ignore_errors=True)
        raise VenvError(
            f"could not install {' '.join(requirements)} with {python}: {error}"
        ) from error
    marker.write_text(wanted, encoding="utf-8")
    return venv_python
