"""A loopback stand-in for a vLLM server (127.0.0.1 only), for tests and ``signdesk bench server``.

It speaks the request and response shapes vLLM documents for its OpenAI-compatible API and computes its
answers with a real model through transformers, as vLLM would with the same checkpoint:

- ``GET /v1/models``: the base model's served name and each LoRA module (``parent``: the base);
- ``POST /v1/chat/completions``: text and ``image_url`` (data: URL) content parts rendered by the model's
  own chat template (image parts become ``{"type": "image"}``), the processor on the images; greedy
  decoding, optionally constrained by ``structured_outputs: {"choice": [...]}``; ``logprobs`` /
  ``top_logprobs`` (raw log-probabilities, vLLM's default ``--logprobs-mode raw_logprobs``), tokens as
  ``token_id:N`` with ``return_tokens_as_token_ids``; ``model`` picks the base model or a LoRA adapter;
- the API key (``Authorization: Bearer``), 401 ``{"error": "Unauthorized"}`` otherwise; error bodies
  ``{"error": {"message", "type", "param", "code"}}`` with their status codes.

It is stricter than vLLM where a client mistake would otherwise pass unnoticed: a field vLLM does not
know (vLLM ignores it with a warning; e.g. the removed ``guided_choice``) or more images than
``--limit-mm-per-prompt`` allows (vLLM: 400) are rejected with 400, and every request is kept in
``requests`` for tests to inspect. ``faults`` makes the next requests fail (a status with a body, a delay,
a body that is not JSON, a dropped connection). ``model_ms`` adds up the time spent in the model, so the
client's own cost can be measured without it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: ChatCompletionRequest fields vLLM documents (OpenAI's, plus its extra parameters) that this stand-in handles
KNOWN_FIELDS = {
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "stream", "stop",
    "logprobs", "top_logprobs", "seed", "user", "frequency_penalty", "presence_penalty", "top_k", "min_p",
    "repetition_penalty", "structured_outputs", "return_tokens_as_token_ids", "skip_special_tokens",
    "add_generation_prompt", "continue_final_message", "chat_template_kwargs", "mm_processor_kwargs",
    "request_id", "priority", "prompt_logprobs",
}
REMOVED_FIELDS = {"guided_choice", "guided_json", "guided_regex", "guided_grammar", "guided_decoding_backend",
                  "guided_whitespace_pattern"}


@dataclass
class Fault:
    """What the next request gets instead of an answer."""

    status: int = 500
    body: Any = None  # JSON body (default: vLLM's error shape for the status)
    delay_s: float = 0.0  # sleep first (then answer normally when status is 0)
    raw: bytes | None = None  # a body that is not JSON
    drop: bool = False  # close the connection without an answer
    headers: dict[str, str] | None = None


def _error(status: int, message: str, kind: str = "BadRequestError", param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": status}}


class StandIn:
    """A vLLM stand-in on 127.0.0.1; ``url`` once started. Use as a context manager."""

    def __init__(self, model_dir: str | Path, *, api_key: str | None = "test-key", served_name: str | None = None,
                 lora_modules: dict[str, str | Path] | None = None, image_limit: int = 8, max_logprobs: int = 20,
                 max_model_len: int = 32768) -> None:
        from signdesk.engine.loader import load_model

        self.model_dir = Path(model_dir)
        self.loaded = load_model(str(model_dir), device="cpu", cpu_arithmetic="float32")
        self.processor = self.loaded.processor
        self.tokenizer = self.processor.tokenizer
        self.served_name = served_name or self.model_dir.name
        self.api_key = api_key
        self.image_limit, self.max_logprobs, self.max_model_len = image_limit, max_logprobs, max_model_len
        from signdesk.engine.adapters import AdapterSet
        from signdesk.engine.prompts import end_of_turn_id

        self.eos = end_of_turn_id(self.tokenizer)
        self.adapters = AdapterSet(self.loaded.model, str(model_dir))
        for name, path in (lora_modules or {}).items():
            self.adapters.load(path, name)
        self.requests: list[dict[str, Any]] = []  # chat request bodies that passed the API key check
        self.hits = 0  # HTTP requests received, faults and refusals included
        self.faults: deque[Fault] = deque()
        self.model_ms = 0.0  # time in the model
        self.busy_ms = 0.0  # time handling chat requests (parsing, images, template, model, answer)
        self._busy_lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[Any] = set()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                stand_in._connections.add(self.connection)

            def finish(self) -> None:
                stand_in._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("stand-in: " + fmt, *args)

            def do_GET(self) -> None:
                stand_in._handle(self, "GET")

            def do_POST(self) -> None:
                stand_in._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False  # server_close() joins them: stop() leaves no thread behind
        self._thread = threading.Thread(target=self._server.serve_forever, name="vllm-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            for connection in list(self._connections):  # kept-alive connections: the server is gone for them too
                with contextlib.suppress(OSError):
                    connection.shutdown(2)
            self._server.server_close()  # joins the handler threads
            self._thread.join(5)
            self._server = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ HTTP
    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: Any = None, raw: bytes | None = None,
              headers: dict[str, str] | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        started = time.perf_counter()
        raw = handler.rfile.read(length) if length else b""
        with self._busy_lock:
            self.busy_ms += (time.perf_counter() - started) * 1000
        self.hits += 1
        fault = self.faults.popleft() if self.faults else None
        if fault is not None:
            if fault.delay_s:
                time.sleep(fault.delay_s)
            if fault.drop:
                handler.close_connection = True
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(2)
                return
            if fault.status:
                body = fault.body if fault.body is not None else _error(fault.status, f"stand-in fault {fault.status}",
                                                                       "InternalServerError")
                self._send(handler, fault.status, body, raw=fault.raw, headers=fault.headers)
                return
        if self.api_key is not None and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            self._send(handler, 401, {"error": "Unauthorized"})  # vLLM's --api-key middleware
            return
        path = handler.path.split("?")[0]
        if method == "GET" and path == "/v1/models":
            self._send(handler, 200, self._models())
        elif method == "GET" and path == "/health":
            self._send(handler, 200, raw=b"")
        elif method == "POST" and path == "/v1/chat/completions":
            try:
                request = json.loads(raw or b"{}")
            except ValueError:
                self._send(handler, 400, _error(400, "the request body is not JSON"))
                return
            self.requests.append(request)
            started = time.perf_counter()
            status, body = self._chat(request)
            data = json.dumps(body).encode()
            with self._busy_lock:
                self.busy_ms += (time.perf_counter() - started) * 1000
            self._send(handler, status, raw=data)
        else:
            self._send(handler, 404, _error(404, f"no route {method} {path}", "NotFoundError"))

    def _models(self) -> dict[str, Any]:
        now = int(time.time())
        data = [{"id": self.served_name, "object": "model", "created": now, "owned_by": "vllm",
                 "root": str(self.model_dir), "parent": None, "max_model_len": self.max_model_len}]
        for name, path in self.adapters.paths.items():
            data.append({"id": name, "object": "model", "created": now, "owned_by": "vllm", "root": str(path),
                         "parent": self.served_name, "max_model_len": None})
        return {"object": "list", "data": data}

    # ------------------------------------------------------------------ chat
    def _check(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        removed = sorted(REMOVED_FIELDS & request.keys())
        if removed:
            return 400, _error(400, f"{', '.join(removed)} was removed from vLLM (v0.12); use structured_outputs")
        unknown = sorted(request.keys() - KNOWN_FIELDS)
        if unknown:
            return 400, _error(400, f"unknown fields {unknown} (vLLM would ignore them)")
        model = request.get("model")
        if model != self.served_name and model not in self.adapters.paths:
            return 404, _error(404, f"The model `{model}` does not exist.", "NotFoundError", "model")
        if not isinstance(request.get("messages"), list) or not request["messages"]:
            return 400, _error(400, "messages must be a non-empty list", param="messages")
        top = request.get("top_logprobs")
        if top is not None and (not request.get("logprobs") or not 0 <= int(top) <= self.max_logprobs):
            return 400, _error(400, f"top_logprobs must be 0..{self.max_logprobs} and needs logprobs: true",
                               param="top_logprobs")
        so = request.get("structured_outputs")
        if so is not None and (not isinstance(so, dict) or set(so) - {"choice", "json", "regex", "grammar"}
                               or ("choice" in so and not (isinstance(so["choice"], list) and so["choice"]))):
            return 400, _error(400, f"bad structured_outputs {so!r}", param="structured_outputs")
        if request.get("n", 1) != 1 or request.get("stream"):
            return 400, _error(400, "the stand-in answers n=1, not streamed")
        return None

    def _render(self, messages: list[dict[str, Any]]) -> tuple[str, list[np.ndarray]] | tuple[int, dict[str, Any]]:
        import cv2

        images: list[np.ndarray] = []
        rendered = []
        for message in messages:
            content = message.get("content")
            if isinstance(content, str):
                rendered.append({"role": message["role"], "content": [{"type": "text", "text": content}]})
                continue
            parts = []
            for part in content or []:
                kind = part.get("type")
                if kind == "text":
                    parts.append({"type": "text", "text": part["text"]})
                elif kind == "image_url":
                    url = (part.get("image_url") or {}).get("url", "")
                    if not url.startswith("data:image/") or ";base64," not in url:
                        return 400, _error(400, "image_url must be a data:image/...;base64 URL here")
                    data = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
                    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
                    if image is None:
                        return 400, _error(400, "an image could not be decoded")
                    images.append(image[..., ::-1].copy())
                    parts.append({"type": "image"})
                else:
                    return 400, _error(400, f"content part type {kind!r} is not handled by the stand-in")
            rendered.append({"role": message["role"], "content": parts})
        if len(images) > self.image_limit:
            return 400, _error(400, f"At most {self.image_limit} image(s) may be provided in one prompt.")
        text = self.processor.apply_chat_template(rendered, add_generation_prompt=True, tokenize=False)
        return text, images

    def _chat(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem = self._check(request)
        if problem is not None:
            return problem
        rendered = self._render(request["messages"])
        if isinstance(rendered[0], int):
            return rendered  # type: ignore[return-value]
        text, images = rendered
        max_tokens = int(request.get("max_completion_tokens") or request.get("max_tokens") or 16)
        choices = (request.get("structured_outputs") or {}).get("choice")
        top = int(request.get("top_logprobs") or 0)
        with self._model_lock:
            t0 = time.perf_counter()
            tokens, logprobs, tops, finish, prompt_len = self._generate(text, images, request["model"], max_tokens,
                                                                        choices, top)
            self.model_ms += (time.perf_counter() - t0) * 1000
        as_ids = bool(request.get("return_tokens_as_token_ids"))

        def name(token: int) -> str:
            return f"token_id:{token}" if as_ids else self.tokenizer.decode([token])

        def entry(token: int, logprob: float) -> dict[str, Any]:
            piece = self.tokenizer.decode([token])
            return {"token": name(token), "logprob": max(logprob, -9999.0), "bytes": list(piece.encode())}

        logprobs_body = None
        if request.get("logprobs"):
            logprobs_body = {"content": [
                {**entry(t, lp), "top_logprobs": [entry(tt, tlp) for tt, tlp in tp]}
                for t, lp, tp in zip(tokens, logprobs, tops, strict=True)
            ]}
        content = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return 200, {
            "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": request["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "tool_calls": []},
                         "logprobs": logprobs_body, "finish_reason": finish, "stop_reason": None}],
            "usage": {"prompt_tokens": prompt_len, "completion_tokens": len(tokens),
                      "total_tokens": prompt_len + len(tokens)},
            "prompt_logprobs": None,
        }

    def _generate(self, text: str, images: list[np.ndarray], model: str, max_tokens: int,
                  choices: list[str] | None, top: int) -> tuple[list[int], list[float], list[list[Any]], str, int]:
        import torch

        inputs = self.processor(text=text, images=images or None, return_tensors="pt")
        inputs = {k: (v.to(torch.float32) if k == "pixel_values" else v) for k, v in inputs.items()}
        prompt_len = int(inputs["input_ids"].shape[1])
        allowed = None
        if choices is not None:
            allowed = [[*self.tokenizer(c, add_special_tokens=False)["input_ids"], self.eos] for c in choices]
        self.adapters.activate(None if model == self.served_name else model)
        tokens: list[int] = []
        logprobs: list[float] = []
        tops: list[list[Any]] = []
        finish = "length"
        with torch.inference_mode(), self.adapters.inference_context():
            out = self.adapters.model(**inputs, use_cache=True, logits_to_keep=1)
            cache = out.cache
            for step in range(max_tokens):
                raw = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
                if allowed is not None:
                    options = {seq[step] for seq in allowed if seq[:step] == tokens and len(seq) > step}
                    token = max(options, key=lambda t: float(raw[t]))
                else:
                    token = int(torch.argmax(raw))
                tokens.append(token)
                logprobs.append(float(raw[token]))  # raw: before the choice constraint's mask
                if top:
                    values, ids = torch.topk(raw, top)
                    tops.append([(int(i), float(v)) for v, i in zip(values, ids, strict=True)])
                else:
                    tops.append([])
                if token == self.eos or token == self.tokenizer.eos_token_id:
                    finish = "stop"
                    break
                out = self.adapters.model(input_ids=torch.tensor([[token]]), cache=cache, use_cache=True)
                cache = out.cache
        return tokens, logprobs, tops, finish, prompt_len
