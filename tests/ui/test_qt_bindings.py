from __future__ import annotations

import PySide6

from signdesk.ui.app import qt_binding_problem


def test_the_crashing_bindings_are_refused_with_the_fix():
    problem = qt_binding_problem("6.12.0", (3, 11))
    assert problem is not None and "PySide6-Essentials!=6.12.0" in problem
    assert qt_binding_problem("6.12.0", (3, 12)) is None
    assert qt_binding_problem("6.11.3", (3, 11)) is None


def test_the_installed_bindings_are_usable():
    import sys

    assert qt_binding_problem(PySide6.__version__, sys.version_info[:2]) is None
