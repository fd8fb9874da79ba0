from importlib import metadata

import simple_worker
from simple_worker.cli import main


def test_the_package_says_its_installed_version():
    assert simple_worker.__version__ == metadata.version("simple-worker")
    assert not simple_worker.__version__.startswith("0.2")


def test_the_command_prints_the_same_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:
        status = exit_.code

    assert status == 0
    assert capsys.readouterr().out == f"simple-worker {simple_worker.__version__}\n"
