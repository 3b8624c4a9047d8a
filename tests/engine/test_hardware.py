"""Device choice with devices faked at the torch boundary only."""

from __future__ import annotations

import importlib.machinery
import sys
import types

import pytest
import torch

from signdesk import hardware
from signdesk.errors import DeviceError


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setattr(hardware.importlib.util, "find_spec", lambda name: None)


def fake_cuda(monkeypatch, bf16: bool):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Fake RTX")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)


def fake_directml(monkeypatch, count: int = 1):
    module = types.ModuleType("torch_directml")
    module.device_count = lambda: count
    module.device_name = lambda index: "Fake DX12 GPU"
    module.device = lambda index=0: "privateuseone:0"
    module.__spec__ = importlib.machinery.ModuleSpec("torch_directml", None)
    monkeypatch.setitem(sys.modules, "torch_directml", module)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        hardware.importlib.util, "find_spec",
        lambda name: module.__spec__ if name == "torch_directml" else real_find_spec(name),
    )


def test_cpu_when_nothing_else(no_gpu):
    choice = hardware.choose_device("auto")
    assert (choice.name, choice.dtype) == ("cpu", "float32")
    assert "no GPU" in choice.reason


def test_cuda_bf16_first(no_gpu, monkeypatch):
    fake_cuda(monkeypatch, bf16=True)
    choice = hardware.choose_device("auto")
    assert (choice.name, choice.dtype, choice.detail) == ("cuda", "bfloat16", "Fake RTX")


def test_cuda_without_bf16_uses_fp16(no_gpu, monkeypatch):
    fake_cuda(monkeypatch, bf16=False)
    assert hardware.choose_device("auto").dtype == "float16"


def test_mps_after_cuda(no_gpu, monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert hardware.choose_device("auto").name == "mps"


def test_directml_only_when_installed(no_gpu, monkeypatch):
    assert hardware.choose_device("auto").name == "cpu"
    fake_directml(monkeypatch)
    choice = hardware.choose_device("auto")
    assert (choice.name, choice.detail) == ("directml", "Fake DX12 GPU")
    assert choice.torch_device() == "privateuseone:0"


def test_directml_is_not_imported_when_absent(no_gpu, monkeypatch):
    monkeypatch.delitem(sys.modules, "torch_directml", raising=False)
    hardware.choose_device("auto")
    assert "torch_directml" not in sys.modules


@pytest.mark.parametrize("device", ["cuda", "mps", "directml"])
def test_forcing_an_unavailable_device_is_a_clear_error(no_gpu, device):
    with pytest.raises(DeviceError, match=f"device '{device}' asked for"):
        hardware.choose_device(device)


def test_forced_cpu_even_with_a_gpu(no_gpu, monkeypatch):
    fake_cuda(monkeypatch, bf16=True)
    choice = hardware.choose_device("cpu")
    assert choice.name == "cpu" and "forced" in choice.reason


def test_unknown_device():
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        hardware.choose_device("tpu")


@pytest.mark.parametrize("quantize", ["4bit", "8bit"])
def test_quantization_needs_cuda(no_gpu, quantize):
    cpu = hardware.choose_device("cpu")
    with pytest.raises(DeviceError, match=f"{quantize} quantization needs an NVIDIA GPU"):
        hardware.check_quantization(quantize, cpu)
    hardware.check_quantization("none", cpu)


def test_quantization_needs_bitsandbytes_on_cuda(no_gpu, monkeypatch):
    fake_cuda(monkeypatch, bf16=True)
    cuda = hardware.choose_device("cuda")
    with pytest.raises(DeviceError, match=r"pip install signdesk\[cuda\]"):
        hardware.check_quantization("4bit", cuda)


def test_probe_reports_every_device(no_gpu):
    report = hardware.probe()
    assert set(report) == {"cuda", "mps", "directml", "cpu"}
    assert report["cpu"]["available"] and not report["cuda"]["available"]


def test_each_process_of_a_distributed_launch_gets_its_own_gpu(no_gpu, monkeypatch):
    fake_cuda(monkeypatch, bf16=True)
    assert hardware.choose_device("auto").torch_device() == "cuda:0"
    monkeypatch.setenv("LOCAL_RANK", "1")  # set by accelerate launch / torchrun
    choice = hardware.choose_device("auto")
    assert (choice.index, choice.torch_device()) == (1, "cuda:1")
