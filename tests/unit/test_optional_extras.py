import importlib
import re
import sys

import pytest


@pytest.mark.parametrize(
    ("module", "dependency", "extra"),
    [
        ("simple_worker.prometheus", "prometheus_client", "simple-worker[prometheus]"),
        ("simple_worker.opentelemetry", "opentelemetry", "simple-worker[opentelemetry]"),
    ],
)
def test_importing_an_extra_without_its_package_says_what_to_install(
    monkeypatch, module, dependency, extra
):
    for name in list(sys.modules):
        if name == dependency or name.startswith(f"{dependency}."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, dependency, None)  # as if not installed
    for name in (module, "simple_worker.adapters.observability._prometheus"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delitem(
        sys.modules, "simple_worker.adapters.observability._opentelemetry", raising=False
    )

    with pytest.raises(ImportError, match=re.escape(f"pip install '{extra}'")):
        importlib.import_module(module)
