"""The server backend against the loopback vLLM stand-in (real tiny model through transformers)."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

from signdesk.errors import ConfigError, ModelError

WORDS = ["hello", "help", "home", "yes", "no", "book", "come", "bad", "thank you", "water"]
KEY = "test-key"


@pytest.fixture(scope="module")
def stand_in(tiny_model_dir):
    from signdesk.engine.vllm_standin import StandIn

    with StandIn(tiny_model_dir, api_key=KEY) as server:
        yield server


@pytest.fixture
def glossary(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("\n".join(WORDS))
    return str(path)


@pytest.fixture
def server_settings(stand_in, tiny_model_dir, glossary, monkeypatch):
    from signdesk.config import load_settings

    monkeypatch.setenv("SIGNDESK_API_KEY", KEY)
    stand_in.faults.clear()

    def make(**extra):
        values = {"model.id": str(tiny_model_dir), "backend": "server", "server.url": stand_in.url,
                  "glossary": glossary, "server.timeout": 5.0, "server.retries": 2, **extra}
        return load_settings(values)

    return make


def _frames(seed=0):
    return np.random.default_rng(seed).integers(0, 255, (8, 64, 64, 3), dtype=np.uint8)


def _local(tiny_model_dir, glossary, **extra):
    from signdesk.config import load_settings
    from signdesk.engine.loader import open_interpreter

    return open_interpreter(load_settings({"model.id": str(tiny_model_dir), "glossary": glossary, "profile": "quality",
                                           "cpu_arithmetic": "float32", **extra}))


# ------------------------------------------------------------------------------------------ API key
def test_key_file_must_be_private(tmp_path, monkeypatch):
    from signdesk.engine.server import read_api_key

    monkeypatch.delenv("SIGNDESK_API_KEY", raising=False)
    key = tmp_path / "key"
    key.write_text("secret\n")
    os.chmod(key, 0o644)
    with pytest.raises(ConfigError, match=r"readable by others.*chmod 600"):
        read_api_key(key)
    os.chmod(key, 0o600)
    assert read_api_key(key) == "secret"
    monkeypatch.setenv("SIGNDESK_API_KEY", "from-env")
    assert read_api_key(key) == "from-env"


def test_api_key_is_not_a_setting():
    from signdesk.config import load_settings

    with pytest.raises(ConfigError, match=r"unknown setting 'server\.api_key'"):
        load_settings({"server.api_key": "x"})


# ------------------------------------------------------------------------------------------ answers
def test_glossary_ranking_matches_local(server_settings, tiny_model_dir, glossary, stand_in):
    from signdesk.engine.loader import open_interpreter
    from signdesk.engine.server import ServerInterpreter

    server = open_interpreter(server_settings(**{"server.image_format": "png", "generation.shortlist": 0}))
    assert isinstance(server, ServerInterpreter) and server.num_frames == 8
    local = _local(tiny_model_dir, glossary, **{"generation.shortlist": 0})
    sent = len(stand_in.requests)
    remote = server.interpret_frames(_frames(), presampled=True)
    here = local.interpret_frames(_frames(), presampled=True)
    assert [c.text for c in remote.candidates] == [c.text for c in here.candidates]
    assert np.allclose([c.score for c in remote.candidates], [c.score for c in here.candidates], atol=2e-3)
    requests = stand_in.requests[sent:]
    assert len(requests) == len(WORDS)  # shortlist 0: every gloss scored, no first-token request needed
    for request in requests:
        assert request["structured_outputs"]["choice"][0] in WORDS and "guided_choice" not in request
        images = [p for m in request["messages"] for p in m["content"] if p["type"] == "image_url"]
        assert len(images) == 8 and images[0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_glossary_shortlist_from_first_token(server_settings, stand_in):
    from signdesk.engine.loader import open_interpreter

    server = open_interpreter(server_settings(**{"generation.shortlist": 3, "top_k": 3}))
    sent = len(stand_in.requests)
    result = server.interpret_frames(_frames(1), presampled=True)
    first = stand_in.requests[sent]
    assert first["max_tokens"] == 1 and first["top_logprobs"] == 20 and first["return_tokens_as_token_ids"]
    scored = len(stand_in.requests) - sent - 1
    assert 1 <= scored <= len(WORDS) and len(result.candidates) == 3
    assert abs(sum(c.score for c in result.candidates) - 1.0) < 1e-6 or scored > 3


def test_free_mode_matches_local(server_settings, tiny_model_dir, glossary):
    from signdesk.engine.loader import open_interpreter

    server = open_interpreter(server_settings(mode="free", **{"server.image_format": "png"}))
    local = _local(tiny_model_dir, glossary, mode="free")
    remote = server.interpret_frames(_frames(2), presampled=True)
    here = local.interpret_frames(_frames(2), presampled=True)
    assert remote.text == here.text and remote.mode == "free"
    assert remote.confidence == pytest.approx(here.confidence, rel=1e-3)


# ------------------------------------------------------------------------------------------ faults
def test_server_down(server_settings):
    import socket

    from signdesk.engine.loader import open_interpreter
    from signdesk.engine.server import ServerError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(ServerError, match=r"cannot reach the server at http://127\.0\.0\.1"):
        open_interpreter(server_settings(**{"server.url": f"http://127.0.0.1:{port}", "server.retries": 0}))


def test_faults_are_one_line_and_retried_where_it_makes_sense(server_settings, stand_in, monkeypatch):
    from signdesk.engine.loader import open_interpreter
    from signdesk.engine.server import ServerError
    from signdesk.engine.vllm_standin import Fault

    server = open_interpreter(server_settings(mode="free", **{"server.timeout": 1.0, "server.retries": 1}))
    frames = _frames(3)
    stand_in.faults.extend([Fault(429, headers={"Retry-After": "0"})])  # retried, then answered
    hits = stand_in.hits
    assert server.interpret_frames(frames, presampled=True).mode == "free"
    assert stand_in.hits - hits == 2
    for fault, message in [
        (Fault(503), r"failed \(HTTP 503 after 1 retries\): stand-in fault 503"),
        (Fault(0, delay_s=2.5), r"did not answer within 1 s"),
        (Fault(200, raw=b"<html>proxy</html>"), r"not an OpenAI chat response|not what was asked"),
        (Fault(200, body={"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}),
         "no choices"),
    ]:
        stand_in.faults.clear()
        stand_in.faults.extend([fault, fault])
        with pytest.raises(ServerError, match=message) as info:
            server.interpret_frames(frames, presampled=True)
        assert "\n" not in str(info.value)
    from signdesk.engine.server import client_from_settings

    stand_in.faults.clear()
    settings = server_settings(**{"server.retries": 3})
    monkeypatch.setenv("SIGNDESK_API_KEY", "wrong")
    server.client = client_from_settings(settings)
    hits = stand_in.hits
    with pytest.raises(ServerError, match=r"refused the API key \(401\)"):
        server.interpret_frames(frames, presampled=True)
    assert stand_in.hits - hits == 1  # 401 is never retried


def test_stand_in_rejects_what_vllm_would_not_honour(stand_in, tiny_model_dir):
    import openai

    from signdesk.engine.prompts import PromptSpec
    from signdesk.engine.server import encode_frames, served_model_name, server_messages

    client = openai.OpenAI(base_url=stand_in.url + "/v1", api_key=KEY, max_retries=0)
    messages = server_messages(PromptSpec("", "Which sign?"), encode_frames(_frames()[:2]))
    model = served_model_name(str(tiny_model_dir))
    with pytest.raises(openai.BadRequestError, match="guided_choice was removed"):
        client.chat.completions.create(model=model, messages=messages, max_tokens=2,
                                       extra_body={"guided_choice": ["yes", "no"]})
    too_many = server_messages(PromptSpec("", "Which sign?"), encode_frames(np.zeros((9, 8, 8, 3), np.uint8)))
    with pytest.raises(openai.BadRequestError, match="At most 8 image"):
        client.chat.completions.create(model=model, messages=too_many, max_tokens=2)
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="nope", messages=messages, max_tokens=2)


# ------------------------------------------------------------------------------------------ adapters
def _fake_adapter(folder, tensors, **config):
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": 16, "peft_type": "LORA", **config}))
    header = {name: {"dtype": "F32", "shape": [1], "data_offsets": [i * 4, i * 4 + 4]}
              for i, name in enumerate(tensors)}
    data = json.dumps(header).encode()
    (folder / "adapter_model.safetensors").write_bytes(struct.pack("<Q", len(data)) + data + b"\0" * 4 * len(tensors))
    return folder


def test_adapters_vllm_cannot_serve_are_refused(tmp_path):
    from signdesk.engine.vllm_serve import check_servable

    lm = "base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight"
    vision = "base_model.model.model.vision_tower.encoder.layer.0.attention.q_proj.lora_A.weight"
    assert check_servable(_fake_adapter(tmp_path / "ok", [lm])).name == "ok"
    with pytest.raises(ModelError, match="vision_tower"):
        check_servable(_fake_adapter(tmp_path / "vision", [lm, vision]))
    with pytest.raises(ModelError, match="modules_to_save"):
        check_servable(_fake_adapter(tmp_path / "saved", [lm], modules_to_save=["lm_head"]))


def test_server_command(tiny_model_dir, tmp_path):
    from signdesk.cli import main

    lm = "base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight"
    adapter = _fake_adapter(tmp_path / "my signs", [lm], rank_pattern={"x": 24})
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["server", "command", "--model", str(tiny_model_dir), "--adapter", str(adapter),
                     "--adapter-root", "/srv/adapters", "--port", "9000"]) == 0
    text = out.getvalue()
    assert text.startswith(f"vllm serve {tiny_model_dir}")
    assert f"--served-model-name {tiny_model_dir.name}" in text
    assert """--limit-mm-per-prompt '{"image": 8}'""" in text
    assert "--enable-lora" in text and "--max-lora-rank 32" in text  # rank 24 needs vLLM's next rank, 32
    assert "--lora-modules my-signs=/srv/adapters/my signs" in text.replace("'", "")
    assert '--api-key "$VLLM_API_KEY"' in text and "--port 9000" in text
    max_len = int(text.split("--max-model-len ")[1].split()[0])
    assert max_len % 256 == 0 and max_len >= 8 * 16  # 8 frames of the tiny model's 16 tokens, plus the prompt


def test_unknown_adapter_name_is_refused(server_settings):
    from signdesk.engine.loader import open_interpreter
    from signdesk.engine.server import ServerError

    server = open_interpreter(server_settings())
    with pytest.raises(ServerError, match=r"does not serve adapter 'signs-v2'.*signdesk server command"):
        server.set_adapter("signs-v2")
    assert server.adapter is None and server.served_model == server.loaded.served_name
