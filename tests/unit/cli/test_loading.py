import sys
import textwrap
import uuid

import pytest

from simple_worker import App, ConfigurationError, TaskExecutor
from simple_worker.cli import main
from simple_worker.cli._common import payload_logging
from simple_worker.cli._loading import AppLoadError, load_app


@pytest.fixture
def module(tmp_path, monkeypatch):
    """``module(source)``: write a module of this test only; return its name."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    names = []

    def write(source):
        name = f"user_module_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)


FACTORY = """
    from simple_worker import App, TaskExecutor

    class AppExecutor(TaskExecutor):
        pass

    def create_app():
        app = App(testing_mode=True, task_executor_cls=AppExecutor)
        app.register_task_handler("ping")(lambda: None)
        return app

    def broken_factory():
        settings = {}
        return settings["SECRET"]

    def not_an_app_factory():
        return 42

    app = App(testing_mode=True)
"""


def test_an_attribute_that_is_an_app_loads(module):
    name = module(FACTORY)

    assert isinstance(load_app(f"{name}:app"), App)
    assert isinstance(load_app(name), App)


def test_a_factory_with_parentheses_is_called_and_its_app_returned(module):
    name = module(FACTORY)

    app = load_app(f"{name}:create_app()")

    assert app.registry.get("ping").task_name == "ping"
    assert app.task_executor_cls.__name__ == "AppExecutor"


def test_a_function_without_parentheses_is_refused_with_the_factory_spelling(module):
    name = module(FACTORY)

    with pytest.raises(ConfigurationError) as caught:
        load_app(f"{name}:create_app")

    assert str(caught.value) == (
        f"{name}:create_app is a function, not a simple_worker.App: to call it as a "
        f"factory that returns the App, write {name}:create_app()"
    )


def test_a_factory_that_returns_something_else_is_refused(module):
    name = module(FACTORY)

    with pytest.raises(ConfigurationError, match=r"not_an_app_factory\(\) returned an int"):
        load_app(f"{name}:not_an_app_factory()")


def test_a_factory_with_arguments_is_refused(module):
    name = module(FACTORY)

    with pytest.raises(ConfigurationError, match="called without arguments"):
        load_app(f"{name}:create_app('prod')")


def test_a_factory_that_raises_carries_the_users_traceback(module):
    name = module(FACTORY)

    with pytest.raises(AppLoadError) as caught:
        load_app(f"{name}:broken_factory()")

    error = caught.value
    assert f"The app factory {name}:broken_factory() raised: KeyError: 'SECRET'" in str(error)
    assert f"{name}.py, line 14" in str(error)
    assert 'return settings["SECRET"]' in error.user_traceback
    assert "_loading.py" not in error.user_traceback


def test_an_exception_while_importing_names_the_file_and_line(module):
    name = module(
        """
        settings = {"a": 1}
        value = settings["b"]
        """
    )

    with pytest.raises(AppLoadError) as caught:
        load_app(f"{name}:app")

    error = caught.value
    assert f"Cannot import module {name!r} (from '{name}:app'): KeyError: 'b'" in str(error)
    assert f"{name}.py, line 3;" in str(error)
    assert error.user_traceback.startswith("Traceback (most recent call last):\n")
    assert 'value = settings["b"]' in error.user_traceback
    assert "importlib" not in error.user_traceback


def test_an_error_of_ours_at_import_points_at_the_users_line(module):
    name = module(
        """
        from simple_worker import App

        app = App(max_message_size=3)
        """
    )

    with pytest.raises(AppLoadError) as caught:
        load_app(f"{name}:app")

    assert "app = App(max_message_size=3)" in caught.value.user_traceback
    assert "simple_worker/app.py" not in caught.value.user_traceback
    assert "got 3 (at " in str(caught.value)


def test_a_missing_module_is_one_line_without_a_traceback(module):
    with pytest.raises(ConfigurationError) as caught:
        load_app("no_such_module_here:app")

    assert not isinstance(caught.value, AppLoadError)
    assert "there is no module 'no_such_module_here'" in str(caught.value)


def test_a_missing_module_imported_by_the_users_module_shows_the_import_line(module):
    name = module("import no_such_dependency_here\n")

    with pytest.raises(AppLoadError) as caught:
        load_app(f"{name}:app")

    assert "import no_such_dependency_here" in caught.value.user_traceback


def test_the_command_prints_the_users_traceback_then_one_line(module, capsys):
    name = module(
        """
        settings = {"a": 1}
        value = settings["b"]
        """
    )

    status = main(["check", f"{name}:app"])

    lines = capsys.readouterr().err.splitlines()
    assert status == 2
    assert lines[0] == "Traceback (most recent call last):"
    assert any('value = settings["b"]' in line for line in lines)
    assert lines[-1].startswith(f"simple-worker: Cannot import module {name!r}")


def test_log_payloads_keeps_the_apps_executor():
    class AppExecutor(TaskExecutor):
        pass

    logging_executor = payload_logging(AppExecutor)

    assert issubclass(logging_executor, AppExecutor)
    assert logging_executor.log_payloads
    assert payload_logging(None).log_payloads


def test_log_payloads_refuses_an_executor_that_is_not_a_task_executor():
    with pytest.raises(ConfigurationError, match="--log-payloads needs"):
        payload_logging(lambda handler: None)
