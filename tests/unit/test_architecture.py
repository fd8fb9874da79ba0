"""The dependency rule of DESIGN.md section 3, checked on the source with `ast`.

The package is read from disk, never imported, so a broken module elsewhere cannot
hide a violation here.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "simple_worker"

OUTER_LAYERS = ("simple_worker.adapters", "simple_worker.services", "simple_worker.app")
AWS = ("boto3", "botocore")
DOMAIN_FORBIDDEN = (
    *AWS,
    "threading",
    "time",
    "socket",
    "asyncio",
    "random",
    "uuid",
    "os",
    "logging",
    # Also I/O, processes and signals: none belongs in a pure domain either.
    "signal",
    "subprocess",
    "multiprocessing",
    "concurrent",
    *OUTER_LAYERS,
)
PORTS_FORBIDDEN = (*AWS, *OUTER_LAYERS)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module `source` imports, anywhere in it, as absolute dotted names.

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a module).
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and dynamic_import_target(node):
            found.add(dynamic_import_target(node))
    return found


def dynamic_import_target(call: ast.Call) -> str:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in {"__import__", "import_module"} and call.args:
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return ""


def violations(imported: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in imported if any(name == f or name.startswith(f"{f}.") for f in forbidden)
    )


def imports_of(path: Path) -> set[str]:
    return imported_modules(
        path.read_text(encoding="utf-8"),
        module_name(path),
        is_package=path.name == "__init__.py",
    )


def modules_under(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py")) if folder else sorted(PACKAGE.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def is_sqs_adapter(path: Path) -> bool:
    parts = path.relative_to(PACKAGE).parts
    return len(parts) >= 2 and parts[0] == "adapters" and parts[1].startswith("sqs")


def is_aws_adapter(path: Path) -> bool:
    """The SQS adapter's modules, the S3 payload store, and the client builder they share."""
    return is_sqs_adapter(path) or path in {
        PACKAGE / "adapters" / "s3_payloads.py",
        PACKAGE / "adapters" / "aws_clients.py",
    }


DOMAIN_MODULES = modules_under("domain")
PORT_MODULES = modules_under("ports")
ALL_MODULES = modules_under("")


def test_the_walk_finds_the_domain_and_the_ports():
    names = {relative(path) for path in DOMAIN_MODULES}
    assert {
        "simple_worker/domain/__init__.py",
        "simple_worker/domain/envelope.py",
        "simple_worker/domain/errors.py",
        "simple_worker/domain/payload.py",
        "simple_worker/domain/registry.py",
        "simple_worker/domain/signature.py",
        "simple_worker/domain/task.py",
    } <= names
    assert PORT_MODULES
    assert set(DOMAIN_MODULES) | set(PORT_MODULES) < set(ALL_MODULES)


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=relative)
def test_domain_module_imports_no_io_clock_threads_or_outer_layer(path):
    assert violations(imports_of(path), DOMAIN_FORBIDDEN) == []


@pytest.mark.parametrize("path", PORT_MODULES, ids=relative)
def test_port_module_imports_no_adapter_service_app_or_aws_sdk(path):
    assert violations(imports_of(path), PORTS_FORBIDDEN) == []


def test_only_sqs_and_s3_adapter_modules_import_boto3_or_botocore():
    offenders = [
        f"{relative(path)}: {', '.join(violations(imports_of(path), AWS))}"
        for path in ALL_MODULES
        if not is_aws_adapter(path) and violations(imports_of(path), AWS)
    ]
    assert offenders == []


# --- the checker itself: each rule above could fail ---------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import boto3", ["boto3"]),
        ("import botocore.exceptions", ["botocore.exceptions"]),
        ("from botocore.exceptions import ClientError", ["botocore.exceptions"]),
        ("import os.path", ["os.path"]),
        ("from time import monotonic", ["time", "time.monotonic"]),
        ("def f():\n    import threading\n", ["threading"]),
        ("if TYPE_CHECKING:\n    import socket\n", ["socket"]),
        ("from simple_worker import app", ["simple_worker.app"]),
        ("from simple_worker.adapters.sqs import SQSQueue", ["simple_worker.adapters.sqs"]),
        ("from ..adapters import memory_queue", ["simple_worker.adapters"]),
        ("from .. import services", ["simple_worker.services"]),
        ("import importlib\nimportlib.import_module('uuid')", ["uuid"]),
        ("__import__('random')", ["random"]),
    ],
)
def test_checker_finds_forbidden_imports_in_every_form(source, expected):
    found = imported_modules(source, "simple_worker.domain.example")
    assert set(expected) <= set(violations(found, DOMAIN_FORBIDDEN))


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import time, datetime",
        "import timeit",
        "import osmosis",
        "from simple_worker.domain.errors import InvalidPayload",
        "from . import errors",
        "from .task import Task",
        "from simple_worker.application import x",
    ],
)
def test_checker_allows_lookalike_and_inner_imports(source):
    found = imported_modules(source, "simple_worker.domain.example")
    assert violations(found, DOMAIN_FORBIDDEN) == []


def test_checker_resolves_relative_imports_from_a_package_init():
    found = imported_modules("from . import adapters", "simple_worker", is_package=True)
    assert "simple_worker.adapters" in found


def test_sqs_adapter_rule_matches_sqs_modules_only():
    assert is_sqs_adapter(PACKAGE / "adapters" / "sqs.py")
    assert is_sqs_adapter(PACKAGE / "adapters" / "sqs_errors.py")
    assert is_sqs_adapter(PACKAGE / "adapters" / "sqs" / "client.py")
    assert not is_sqs_adapter(PACKAGE / "adapters" / "memory_queue.py")
    assert not is_sqs_adapter(PACKAGE / "services" / "sqs_producer.py")
    assert not is_sqs_adapter(PACKAGE / "sqs.py")


def test_aws_adapter_rule_adds_the_s3_payload_store_and_nothing_else():
    assert is_aws_adapter(PACKAGE / "adapters" / "sqs.py")
    assert is_aws_adapter(PACKAGE / "adapters" / "s3_payloads.py")
    assert is_aws_adapter(PACKAGE / "adapters" / "aws_clients.py")
    assert not is_aws_adapter(PACKAGE / "adapters" / "memory_payloads.py")
    assert not is_aws_adapter(PACKAGE / "adapters" / "large_payloads.py")
    assert not is_aws_adapter(PACKAGE / "adapters" / "s3_other.py")
    assert not is_aws_adapter(PACKAGE / "services" / "offload.py")
