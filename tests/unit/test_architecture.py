"""The dependency rule of DESIGN.md section 3, checked on the source with `ast`.

The package is read from disk, never imported, so a broken module elsewhere cannot
hide a violation here.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "simple_worker"

OUTER_LAYERS = (
    "simple_worker.adapters",
    "simple_worker.consumer",
    "simple_worker.producer",
    "simple_worker.app",
    "simple_worker.cli",
    "simple_worker._wiring",
    "simple_worker._middleware",
    "simple_worker._large_payloads",
    "simple_worker._log_fields",
    "simple_worker._logging",
)
SERVICES = ("simple_worker.consumer", "simple_worker.producer")
WIRING = ("simple_worker.app", "simple_worker.cli", "simple_worker._wiring")
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


def is_aws_adapter(path: Path) -> bool:
    """The AWS adapters: ``adapters/sqs/``, ``s3/``, ``scheduler/`` and ``aws_lambda/``."""
    parts = path.relative_to(PACKAGE).parts
    return (
        len(parts) >= 3
        and parts[0] == "adapters"
        and parts[1] in {"sqs", "s3", "scheduler", "aws_lambda"}
    )


DOMAIN_MODULES = modules_under("domain")
PORT_MODULES = modules_under("ports")
ADAPTER_MODULES = modules_under("adapters")
SERVICE_MODULES = [*modules_under("consumer"), *modules_under("producer")]
ALL_MODULES = modules_under("")


def test_the_walk_finds_the_domain_and_the_ports():
    names = {relative(path) for path in DOMAIN_MODULES}
    assert {
        "simple_worker/domain/__init__.py",
        "simple_worker/domain/_envelope.py",
        "simple_worker/domain/_errors.py",
        "simple_worker/domain/_payload.py",
        "simple_worker/domain/_registry.py",
        "simple_worker/domain/_signature.py",
        "simple_worker/domain/_task.py",
    } <= names
    assert PORT_MODULES
    assert set(DOMAIN_MODULES) | set(PORT_MODULES) < set(ALL_MODULES)


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=relative)
def test_domain_module_imports_no_io_clock_threads_or_outer_layer(path):
    assert violations(imports_of(path), DOMAIN_FORBIDDEN) == []


@pytest.mark.parametrize("path", PORT_MODULES, ids=relative)
def test_port_module_imports_no_adapter_service_app_or_aws_sdk(path):
    assert violations(imports_of(path), PORTS_FORBIDDEN) == []


@pytest.mark.parametrize("path", ADAPTER_MODULES, ids=relative)
def test_adapter_module_imports_no_consumer_producer_or_app(path):
    assert violations(imports_of(path), (*SERVICES, *WIRING)) == []


@pytest.mark.parametrize("path", SERVICE_MODULES, ids=relative)
def test_consumer_and_producer_import_no_adapter_and_no_wiring(path):
    assert violations(imports_of(path), ("simple_worker.adapters", *WIRING)) == []


def package_imports() -> dict[str, set[str]]:
    """Which of the package's own modules each module imports (at any depth in it)."""
    known = {module_name(path) for path in ALL_MODULES}
    graph: dict[str, set[str]] = {}
    for path in ALL_MODULES:
        graph[module_name(path)] = {name for name in imports_of(path) if name in known}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the import cycles of ``graph``, each as the modules around it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycles_among_the_package_modules():
    graph = package_imports()
    # A package's __init__ re-exporting its modules is no cycle of meaning.
    for module, targets in graph.items():
        graph[module] = {t for t in targets if t != module and not module.startswith(f"{t}.")}
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle_and_passes_a_tree():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_modules_that_are_not_api_are_private():
    public_modules = {
        "simple_worker",
        "simple_worker.app",
        "simple_worker.opentelemetry",
        "simple_worker.prometheus",
        "simple_worker.__main__",
    }
    public_packages = ("simple_worker.ports", "simple_worker.testing")
    named_public = [
        module_name(path)
        for path in ALL_MODULES
        if path.name != "__init__.py"
        and not path.name.startswith("_")
        and module_name(path) not in public_modules
        and not module_name(path).startswith(public_packages)
    ]
    assert named_public == []


@pytest.mark.parametrize(
    "path",
    [p for p in ALL_MODULES if p.name == "__init__.py" or not p.name.startswith("_")],
    ids=relative,
)
def test_public_module_declares_all(path):
    source = path.read_text(encoding="utf-8")
    private_package = any(part.startswith("_") for part in path.relative_to(PACKAGE).parts[:-1])
    exports = path.name == "__init__.py" and any(
        isinstance(node, (ast.Import, ast.ImportFrom))
        and getattr(node, "module", "") != "__future__"
        for node in ast.parse(source).body
    )
    if (
        path.name == "__main__.py"
        or private_package
        or (path.name == "__init__.py" and not exports)
    ):
        pytest.skip("nothing to export")
    assert "__all__" in source


def _private(name):
    """Whether a dotted name's part is private: ``_queue``, not ``__version__``."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_docs_and_examples_import_only_public_names():
    offenders = [
        f"{doc.name}:{number}: {word}"
        for doc in [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.rglob("examples/**/*.py")]
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
        for word in line.replace("(", " ").split()
        if word.startswith("simple_worker.")
        and not word.endswith(":")  # a logger's name in a sample log line, not an import
        and any(_private(part) for part in word.rstrip(".,:;`)\"'").split("."))
    ]
    assert offenders == []


def test_only_aws_adapter_modules_import_boto3_or_botocore():
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
        (
            "from simple_worker.adapters.sqs._queue import SQSQueue",
            ["simple_worker.adapters.sqs._queue"],
        ),
        ("from ..adapters import memory", ["simple_worker.adapters"]),
        ("from .. import consumer", ["simple_worker.consumer"]),
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
        "from simple_worker.domain._errors import InvalidPayload",
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


def test_aws_adapter_rule_matches_the_sqs_s3_scheduler_and_lambda_packages_only():
    assert is_aws_adapter(PACKAGE / "adapters" / "sqs" / "_queue.py")
    assert is_aws_adapter(PACKAGE / "adapters" / "aws_lambda" / "_functions.py")
    assert is_aws_adapter(PACKAGE / "adapters" / "sqs" / "_clients.py")
    assert is_aws_adapter(PACKAGE / "adapters" / "s3" / "_payloads.py")
    assert is_aws_adapter(PACKAGE / "adapters" / "scheduler" / "_scheduler.py")
    assert not is_aws_adapter(PACKAGE / "adapters" / "memory" / "_queue.py")
    assert not is_aws_adapter(PACKAGE / "adapters" / "_send_rules.py")
    assert not is_aws_adapter(PACKAGE / "consumer" / "sqs.py")
    assert not is_aws_adapter(PACKAGE / "sqs.py")
