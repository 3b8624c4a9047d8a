"""The layers hold: the import contracts in ``.importlinter`` pass, and the core works without Qt.

``lint-imports`` checks the same contracts in CI; running them here makes ``python -m pytest`` fail too.
"""

from __future__ import annotations

import configparser
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import signdesk
from signdesk.cli import main

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / ".importlinter"
# the children of signdesk allowed to import Qt: the GUI, and the entry modules above it that open windows
QT_ALLOWED = {"ui", "cli", "selftest", "bootstrap", "__main__"}


LINT = ("import sys\nfrom importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")


def lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    """import-linter in a child process: its CLI reconfigures logging (dictConfig disables every existing
    logger), which in this process would silence the app's loggers for the tests that follow."""
    return subprocess.run([sys.executable, "-c", LINT, str(config)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_the_import_contracts_are_kept():
    result = lint_imports(CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_contract_fails_the_check(tmp_path):
    """The check can fail: the GUI does import Qt, so a contract forbidding it is reported broken."""
    broken = tmp_path / "broken.ini"
    broken.write_text("[importlinter]\nroot_package = signdesk\ninclude_external_packages = True\n\n"
                      "[importlinter:contract:gui]\nname = the GUI without Qt\ntype = forbidden\n"
                      "source_modules = signdesk.ui\nforbidden_modules = PySide6\n", encoding="utf-8")
    result = lint_imports(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "signdesk.ui is not allowed to import PySide6" in result.stdout


def _contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    return parser


def test_every_core_module_is_in_the_qt_free_contract():
    """A new module of signdesk is Qt-free unless it is one of the few allowed to open windows."""
    children = {info.name for info in pkgutil.iter_modules(signdesk.__path__)}
    listed = {name.removeprefix("signdesk.") for name in _contracts()["importlinter:contract:qt-free"]
              ["source_modules"].split()}
    assert listed == children - QT_ALLOWED


def qt_loaded() -> list[str]:
    return [m for m in sys.modules if m.partition(".")[0] in {"PySide6", "shiboken6"}]


@pytest.mark.parametrize("command", [[], ["interpret"], ["transcribe"], ["live"], ["data"], ["train"],
                                     ["evaluate"], ["segment"], ["job"], ["gui"], ["bench-live"]])
def test_help_works_without_qt(command, without_qt, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: signdesk")
    assert not qt_loaded()


@pytest.mark.parametrize("command", [["gui"], ["bench-live", "--scenario", "tiny"]])
def test_window_commands_say_in_one_line_that_they_need_pyside6(command, without_qt, capsys):
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("signdesk: error: the desktop app needs PySide6") and err.count("\n") == 1, err


def test_the_qt_blocker_fails_as_an_uninstalled_package_does(without_qt):
    with pytest.raises(ModuleNotFoundError) as error:
        import PySide6.QtCore  # noqa: F401
    assert error.value.name == "PySide6"
