"""The real interpreter and every test stand-in satisfy signdesk.engine.protocol.InterpreterProtocol.

The GUI's engine thread and ``signdesk transcribe`` use its members directly (no probing), so a
stand-in that lacks one would hide a crash the real app would not have, or the reverse.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from signdesk.engine.protocol import InterpreterProtocol

TESTS = Path(__file__).resolve().parent.parent
MEMBERS = sorted(name for name in vars(InterpreterProtocol) if not name.startswith("_"))
METHODS = {name for name in MEMBERS if not isinstance(vars(InterpreterProtocol)[name], property)}
# each method as the callers call it
CALLS = {
    "interpret_frames": ((np.zeros((4, 8, 8, 3), np.uint8),), {}),
    "interpret_video": (("clip.mp4",), {"frame_start": 3, "frame_end": 9}),
    "set_adapter": ((None,), {}),
    "configure": ((), {"mode": "vocab", "glossary": ["hello"], "top_k": 3, "num_frames": 4, "profile": "fast"}),
}
NESTED = {"loaded": ("model_id", "device"), "profile": ("name",)}


def problems(interp) -> list[str]:
    found = [f"no `{name}`" for name in MEMBERS if not hasattr(interp, name)]
    for name, parts in NESTED.items():
        found += [f"no `{name}.{part}`" for part in parts if hasattr(interp, name)
                  and not hasattr(getattr(interp, name), part)]
    device = getattr(getattr(interp, "loaded", None), "device", None)
    found += [f"no `loaded.device.{part}`" for part in ("name", "dtype") if device is not None
              and not hasattr(device, part)]
    for name, (args, kwargs) in CALLS.items():
        method = getattr(interp, name, None)
        if method is None:
            continue
        try:
            inspect.signature(method).bind(*args, **kwargs)
        except TypeError as exc:
            found.append(f"`{name}` cannot be called as the callers do ({exc})")
    if not found:
        assert isinstance(interp, InterpreterProtocol)
    return found


def load_fake(relative: str):
    path = TESTS / relative
    spec = importlib.util.spec_from_file_location(f"_fake_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FakeInterpreter


def test_every_method_of_the_protocol_has_a_call_here():
    assert set(CALLS) == METHODS, "add the new method to CALLS, as its callers call it"


def test_the_real_interpreter_satisfies_the_protocol(interpreter):
    assert problems(interpreter) == []


@pytest.mark.parametrize("where", ["ui/conftest.py", "video/test_transcribe.py"])
def test_each_stand_in_satisfies_the_protocol(where):
    assert problems(load_fake(where)()) == [], f"the FakeInterpreter of tests/{where} falls short"


def test_a_stand_in_short_of_a_member_or_a_keyword_is_caught():
    fake = load_fake("ui/conftest.py")()
    del fake.tokens_per_frame
    fake.loaded = SimpleNamespace(model_id="m", device=SimpleNamespace(name="cpu"))
    fake.configure = lambda mode=None: None
    found = problems(fake)
    assert "no `tokens_per_frame`" in found and "no `loaded.device.dtype`" in found
    assert any(p.startswith("`configure` cannot be called") for p in found)
    assert not isinstance(fake, InterpreterProtocol)
