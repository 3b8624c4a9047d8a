"""CPU arithmetic (float32 | bfloat16 | int8) and compute threads, with the CPU's capabilities faked at the probe."""

from __future__ import annotations

import json
import re

import pytest
import torch

from signdesk import hardware
from signdesk.errors import DeviceError

CPU = hardware.DeviceChoice("cpu", "float32", "CPU (forced)", "x86_64")
CUDA = hardware.DeviceChoice("cuda", "bfloat16", "CUDA GPU found (bf16 supported)", "Fake RTX")


@pytest.fixture
def bf16_cpu(monkeypatch):
    monkeypatch.setattr(hardware, "_cpu_bf16", lambda: (True, "AVX512-BF16"))


@pytest.fixture
def plain_cpu(monkeypatch):
    monkeypatch.setattr(hardware, "_cpu_bf16", lambda: (False, "no AVX512-BF16, AMX or ARM BF16"))


@pytest.fixture
def no_torchao(monkeypatch):
    monkeypatch.setattr(hardware, "torchao_installed", lambda: False)


@pytest.fixture
def keep_threads():
    """Tests here change torch's thread count; every other test must get back the count it had."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def one_line_error(call, *args) -> str:
    with pytest.raises(DeviceError) as info:
        call(*args)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    return message


# ---------------------------------------------------------------------------- the choice
def test_auto_picks_bfloat16_where_the_cpu_computes_it(bf16_cpu):
    arithmetic = hardware.choose_cpu_arithmetic("auto", CPU)
    assert (arithmetic.name, arithmetic.dtype, arithmetic.int8_weights) == ("bfloat16", "bfloat16", False)
    assert "AVX512-BF16" in arithmetic.reason


def test_auto_keeps_float32_without_native_bfloat16(plain_cpu):
    arithmetic = hardware.choose_cpu_arithmetic("auto", CPU)
    assert (arithmetic.name, arithmetic.dtype) == ("float32", "float32")
    assert "no native bfloat16" in arithmetic.reason


def test_auto_never_picks_int8_even_with_torchao(bf16_cpu, monkeypatch):
    monkeypatch.setattr(hardware, "torchao_installed", lambda: True)
    assert hardware.choose_cpu_arithmetic("auto", CPU).name == "bfloat16"


@pytest.mark.parametrize(("bf16", "activations"), [(True, "bfloat16"), (False, "float32")])
def test_int8_computes_in_bfloat16_only_where_the_cpu_has_it(monkeypatch, bf16, activations):
    monkeypatch.setattr(hardware, "_cpu_bf16", lambda: (bf16, "probe"))
    monkeypatch.setattr(hardware, "torchao_installed", lambda: True)
    arithmetic = hardware.choose_cpu_arithmetic("int8", CPU)
    assert (arithmetic.name, arithmetic.dtype, arithmetic.int8_weights) == ("int8", activations, True)


def test_explicit_float32_on_a_bf16_cpu(bf16_cpu):
    assert hardware.choose_cpu_arithmetic("float32", CPU).dtype == "float32"


def test_bfloat16_refused_without_native_support(plain_cpu):
    message = one_line_error(hardware.choose_cpu_arithmetic, "bfloat16", CPU)
    assert "bfloat16 needs a CPU that computes it natively" in message and "--arithmetic" in message


def test_int8_refused_without_torchao(bf16_cpu, no_torchao):
    message = one_line_error(hardware.choose_cpu_arithmetic, "int8", CPU)
    assert "int8 needs torchao" in message and "pip install signdesk[cpu]" in message


@pytest.mark.parametrize("requested", ["float32", "bfloat16", "int8"])
def test_explicit_choices_refused_on_a_gpu(bf16_cpu, requested):
    message = one_line_error(hardware.choose_cpu_arithmetic, requested, CUDA)
    assert "applies to the CPU only" in message and "cuda" in message and "--quantize" in message


def test_auto_on_a_gpu_leaves_the_gpu_dtype(bf16_cpu):
    arithmetic = hardware.choose_cpu_arithmetic("auto", CUDA)
    assert arithmetic.dtype == "bfloat16" and "not used on cuda" in arithmetic.reason


def test_unknown_arithmetic(bf16_cpu):
    assert "unknown CPU arithmetic" in one_line_error(hardware.choose_cpu_arithmetic, "int4", CPU)


def test_the_setting_is_validated(tmp_path):
    from signdesk.config import load_settings
    from signdesk.errors import ConfigError

    assert load_settings(user_file=tmp_path / "none.yaml")["cpu_arithmetic"] == "auto"
    bad = tmp_path / "settings.yaml"
    bad.write_text("cpu_arithmetic: fast\n")
    with pytest.raises(ConfigError, match=re.escape("'cpu_arithmetic' must be auto | float32 | bfloat16 | int8")):
        load_settings(user_file=bad)


# ---------------------------------------------------------------------------- threads
def test_one_thread_per_physical_core(monkeypatch, keep_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(hardware, "physical_cores", lambda: 1)
    torch.set_num_threads(3)
    assert hardware.set_cpu_threads() == (1, "physical cores")
    assert torch.get_num_threads() == 1


def test_omp_num_threads_is_respected(monkeypatch, keep_threads):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setattr(hardware, "physical_cores", lambda: 1)
    torch.set_num_threads(3)
    assert hardware.set_cpu_threads() == (3, "OMP_NUM_THREADS")
    assert torch.get_num_threads() == 3


def test_physical_cores_not_hyperthreads_nor_cpus_this_process_may_not_use(monkeypatch):
    import psutil

    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 16 if logical else 8)
    monkeypatch.setattr(hardware.os, "cpu_count", lambda: 16)
    monkeypatch.setattr(hardware.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert hardware.physical_cores() == 8
    monkeypatch.setattr(hardware.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert hardware.physical_cores() == 3


# ---------------------------------------------------------------------------- loading
def scores(loaded, build_interpreter) -> dict[str, float]:
    import numpy as np

    interpreter = build_interpreter(loaded)
    interpreter.configure(top_k=8)
    frames = np.random.default_rng(5).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    return {c.text: c.score for c in interpreter.interpret_frames(frames).candidates}


def top1(scored: dict[str, float]) -> str:
    return max(scored, key=scored.get)


def test_load_in_bfloat16(tiny_model_dir, loaded_tiny, build_interpreter, bf16_cpu, monkeypatch, keep_threads):
    from signdesk.engine.loader import load_model

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(hardware, "physical_cores", lambda: 1)
    loaded = load_model(str(tiny_model_dir), device="cpu", cpu_arithmetic="auto")
    assert {p.dtype for p in loaded.model.parameters()} == {torch.bfloat16}
    assert (loaded.device.dtype, loaded.arithmetic.name) == ("bfloat16", "bfloat16")
    assert loaded.threads == 1 and torch.get_num_threads() == 1
    reference, got = scores(loaded_tiny, build_interpreter), scores(loaded, build_interpreter)
    assert top1(got) == top1(reference)
    assert max(abs(got[w] - reference[w]) for w in reference) < 0.03


def test_training_and_other_callers_still_load_float32(tiny_model_dir, bf16_cpu, keep_threads):
    from signdesk.engine.loader import load_model

    loaded = load_model(str(tiny_model_dir), device="cpu")  # no cpu_arithmetic: what training asks for
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}
    assert loaded.arithmetic.name == "float32"


@pytest.mark.parametrize(("bf16", "dtype", "int8_activations"), [(True, "bfloat16", False), (False, "float32", True)])
def test_load_with_int8_weights(tiny_model_dir, loaded_tiny, build_interpreter, monkeypatch, keep_threads,
                                bf16, dtype, int8_activations):
    pytest.importorskip("torchao", reason="int8 needs the cpu extra (torchao)")
    from torchao.utils import TorchAOBaseTensor

    from signdesk.engine.loader import load_model

    monkeypatch.setattr(hardware, "_cpu_bf16", lambda: (bf16, "probe"))
    loaded = load_model(str(tiny_model_dir), device="cpu", cpu_arithmetic="int8")
    linears = {name: m for name, m in loaded.model.named_modules() if isinstance(m, torch.nn.Linear)}
    int8 = {name for name, m in linears.items() if isinstance(m.weight, TorchAOBaseTensor)}
    assert any(".language_model." in name for name in int8) and any(".vision_tower." in name for name in int8)
    assert set(linears) - int8 == {"lm_head"}  # glossary scores are read from the head's logits
    assert loaded.device.dtype == dtype and loaded.arithmetic.int8_weights
    assert loaded.model.lm_head.weight.dtype == getattr(torch, dtype)
    # without native bfloat16, the activations are quantized per token too (int8 matmuls)
    weight = loaded.model.model.language_model.layers[0].mlp.up_proj.weight
    assert (getattr(weight, "act_quant_kwargs", None) is not None) == int8_activations
    got = scores(loaded, build_interpreter)  # plumbing only: a tiny random model's int8 ranks are meaningless
    assert sorted(got) == sorted(scores(loaded_tiny, build_interpreter))
    assert abs(sum(got.values()) - 1) < 1e-3


def test_load_refuses_before_reading_the_model(tmp_path, plain_cpu):
    from signdesk.engine.loader import load_model

    message = one_line_error(lambda: load_model(str(tmp_path / "no-such-model"), device="cpu",
                                                cpu_arithmetic="bfloat16"))
    assert "bfloat16 needs a CPU" in message


def test_cli_refuses_unsupported_arithmetic_in_one_line(capsys, tiny_model_dir, motion_video, plain_cpu, no_torchao):
    from signdesk.cli import main

    for arithmetic, message in (("bfloat16", "bfloat16 needs a CPU"), ("int8", "int8 needs torchao")):
        code = main(["interpret", str(motion_video), "--model", str(tiny_model_dir), "--device", "cpu",
                     "--arithmetic", arithmetic])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- doctor
def test_doctor_shows_the_choice_and_why(capsys, bf16_cpu, monkeypatch):
    from signdesk.cli import main

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(hardware, "physical_cores", lambda: 6)
    assert main(["doctor", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "cpu (bfloat16)" in out
    assert "chosen: bfloat16 (bfloat16): auto: this CPU computes bfloat16 natively (AVX512-BF16)" in out
    assert "threads: 6 (one per physical core)" in out

    assert main(["doctor", "--device", "cpu", "--arithmetic", "float32", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["cpu_arithmetic"]
    assert (report["setting"], report["chosen"], report["reason"]) == ("float32", "float32", "chosen in the settings")
    assert set(report["support"]) == {"float32", "bfloat16", "int8"}


def test_doctor_shows_a_refusal(capsys, plain_cpu, no_torchao):
    from signdesk.cli import main

    assert main(["doctor", "--device", "cpu", "--arithmetic", "int8"]) == 0
    out = capsys.readouterr().out
    assert "error: CPU arithmetic int8 needs torchao" in out
    assert "bfloat16: no (no AVX512-BF16, AMX or ARM BF16)" in out
    assert "int8: no (pip install signdesk[cpu])" in out
