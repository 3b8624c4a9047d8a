"""The ``server`` backend: SignDesk as a client of a vLLM server that runs InternVL3 (+ LoRA adapters).

One GPU server runs the model for many laptops. ``ServerInterpreter`` offers what callers use on the local
``Interpreter`` (``interpret_frames`` / ``interpret_video`` → ``Result``, ``configure``, ``set_adapter``,
``glossary``, ``num_frames``, ``frame_size``, ``prepare_inputs`` + ``candidate_logprobs`` for evaluation),
so the app, ``interpret``, ``transcribe``, ``live`` and ``evaluate`` treat both alike.

What the server sees is what a local run sees:

- frames are sampled and resized here, by the same code (``read_clip`` / ``sample_frames``) at the model's
  native frame size, then sent as images in ONE chat request;
- the prompt comes from the same builder (``prompts.build_messages``): the ``{"type": "video"}`` part is
  replaced by ``Frame1: <image>`` … ``FrameN: <image>`` parts, which InternVL's chat template and processor
  expand to exactly the tokens the local processor makes for the video (checked by the tests with the
  loopback stand-in, which renders requests as vLLM does);
- vLLM's processor normalises the pixels as the local processor does (same checkpoint, same config).

Image format: JPEG at quality 95 (``IMAGE_FORMAT``). On a 2-core laptop PNG costs ~130 ms and 2.3 MB per
8-frame sign at 448², JPEG 95 ~9 ms and 0.55 MB, with a mean error of ~1.8 grey levels (below webcam
noise). The client budget is 30 ms per sign, and glossary mode sends the frames more than once, so JPEG.
``server.image_format: png`` is there for exact comparisons with a local run (lossless, slower).

Glossary (vocab) mode, in two steps, both answered from vLLM's prefix cache after the first prefill:

1. one request for ONE answer token, constrained to the glossary (``structured_outputs: {"choice":
   glossary}``), with ``logprobs``/``top_logprobs`` (ids via ``return_tokens_as_token_ids``): the token
   generated is the likeliest first token of any gloss (the group local shortlisting always keeps), and the
   top 20 raw log-probabilities give the first-token log-probability of every gloss that starts with one of
   them. Those glosses form the shortlist, grouped by first token exactly like
   ``signdesk.engine.shortlist.select`` (at most ``generation.shortlist`` glosses, at least ``top_k``).
2. one choice-constrained request per shortlisted gloss (``structured_outputs: {"choice": [gloss]}``,
   ``logprobs``): vLLM returns the log-probability of every answer token, end-of-turn included. These are
   the raw model log-probabilities (vLLM's default ``--logprobs-mode raw_logprobs``, which the printed
   ``vllm serve`` command also sets), so their sum is the gloss's log-likelihood, as local scoring computes
   it. The prompt and images are identical across the requests, so vLLM prefills them once (prefix cache);
   no request asks for prompt log-probabilities (those disable the prefix cache).

The scored glosses are normalised over, like the local shortlist; the rest get 0 and rank below, by
first-token log-probability where the server reported one.

Faults: every failure becomes one ``ServerError`` line (unreachable, timeout, 401, 429, 5xx, a response
that is not what was asked). The openai client retries connection errors, 408/409/429 and 5xx with
exponential backoff (honouring ``Retry-After``), never 401/400/404. TLS is verified (a private CA bundle
can be given); the API key comes from ``SIGNDESK_API_KEY`` or a key file readable only by its owner and is
never written into the settings file.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
import os
import re
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from signdesk.engine.interpreter import Candidate, Result, apply_choices, clip_frames, interpret_file
from signdesk.engine.profiles import PROFILES, Budget, budget, describe, resolve_profile
from signdesk.engine.prompts import PromptSpec, answer_token_ids, build_messages, clean_answer
from signdesk.errors import ConfigError, ModelError, SignDeskError, VideoError

log = logging.getLogger(__name__)

API_KEY_VARIABLE = "SIGNDESK_API_KEY"
IMAGE_FORMAT = "jpeg"
JPEG_QUALITY = 95
#: vLLM's default --max-logprobs: the most top_logprobs a request may ask for
MAX_TOP_LOGPROBS = 20
#: glossary requests in flight at once for one sign (vLLM batches them)
CONCURRENCY = 8


class ServerError(SignDeskError):
    """The model server could not be used: unreachable, refused, overloaded or answering nonsense."""


# ------------------------------------------------------------------------------------------ names
def served_model_name(model_id: str) -> str:
    """The name the base model is served under: the hub id, or a local folder's name."""
    path = Path(model_id).expanduser()
    return path.name if (path.is_absolute() or model_id.startswith((".", "~")) or path.is_dir()) else model_id


def served_adapter_name(adapter: str | Path) -> str:
    """An adapter folder's served name: its folder name, reduced to letters, digits, ``-``, ``_`` and ``.``."""
    name = Path(adapter).expanduser().name if os.sep in str(adapter) or Path(adapter).is_dir() else str(adapter)
    return re.sub(r"[^A-Za-z0-9._-]", "-", name) or "adapter"


# ------------------------------------------------------------------------------------------ API key
def read_api_key(key_file: str | Path | None) -> str | None:
    """The API key: ``SIGNDESK_API_KEY``, else the key file (which only its owner may read), else None."""
    env = os.environ.get(API_KEY_VARIABLE, "").strip()
    if env:
        return env
    if not key_file:
        return None
    path = Path(key_file).expanduser()
    try:
        info = path.stat()
    except OSError:
        raise ConfigError(f"{path}: no such API key file; create it (chmod 600) or set {API_KEY_VARIABLE}") from None
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path}: the API key file is readable by others (mode {stat.S_IMODE(info.st_mode):03o}); "
                          f"run `chmod 600 {path}`")
    try:
        key = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the API key file ({exc})".splitlines()[0]) from None
    if not key or "\n" in key:
        raise ConfigError(f"{path}: the API key file must hold the key on one line")
    return key


# ------------------------------------------------------------------------------------------ client
def _error_detail(exc: Any) -> str:
    """The server's own message from an error body (vLLM: {"error": {"message": ...}} or {"error": "..."})."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            inner = inner.get("message") or json.dumps(inner)[:200]
        text = str(inner or body.get("message") or "")
    else:
        text = str(getattr(exc, "message", "") or exc)
    return " ".join(text.split())[:300]


class ServerClient:
    """The OpenAI-compatible API of one vLLM server, through the official ``openai`` client (imported lazily)."""

    def __init__(self, url: str, api_key: str | None, *, timeout: float = 30.0, retries: int = 2,
                 ca_bundle: str | None = None) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"server URL must look like https://host:8000 (got {url!r})")
        base = url.rstrip("/")
        self.url = base[: -len("/v1")] if base.endswith("/v1") else base
        self.timeout, self.retries = float(timeout), int(retries)
        try:
            import openai
        except ImportError:
            raise ServerError("the server backend needs the openai package; run `pip install openai`") from None
        http_client = None
        if ca_bundle:
            bundle = Path(ca_bundle).expanduser()
            if not bundle.is_file():
                raise ConfigError(f"{bundle}: no such CA bundle; give a PEM file with --ca-bundle")
            http_client = openai.DefaultHttpxClient(verify=str(bundle))  # verified, against the private CA
        if api_key is None:
            log.warning("no API key (%s or a key file): only a server started without --api-key accepts this",
                        API_KEY_VARIABLE)
        self._openai = openai
        self._client = openai.OpenAI(base_url=self.url + "/v1", api_key=api_key or "no-key", timeout=self.timeout,
                                     max_retries=self.retries, http_client=http_client)

    @property
    def host(self) -> str:
        return urlparse(self.url).netloc

    def _fail(self, exc: Exception) -> ServerError:
        o = self._openai
        where = f"the server at {self.url}"
        if isinstance(exc, o.APITimeoutError):
            return ServerError(f"{where} did not answer within {self.timeout:g} s (after {self.retries} retries); "
                               "it may be overloaded: raise --timeout or try again")
        if isinstance(exc, o.APIConnectionError):
            cause = exc.__cause__ or exc
            text = " ".join(str(cause).split())[:160]
            if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text.lower():
                return ServerError(f"{where}: its TLS certificate is not trusted ({text}); "
                                   "give the private CA's bundle with --ca-bundle")
            return ServerError(f"cannot reach {where} ({text or type(cause).__name__}); "
                               "check that vLLM runs there and the address and port")
        if isinstance(exc, o.AuthenticationError | o.PermissionDeniedError):
            return ServerError(f"{where} refused the API key ({exc.status_code}); set {API_KEY_VARIABLE} or the "
                               "key file to the key vLLM was started with (--api-key)")
        if isinstance(exc, o.RateLimitError):
            return ServerError(f"{where} is busy (429 after {self.retries} retries): {_error_detail(exc)}; "
                               "try again shortly")
        if isinstance(exc, o.NotFoundError):
            return ServerError(f"{where} does not serve this (404: {_error_detail(exc)}); "
                               "start it with the command `signdesk server command` prints")
        if isinstance(exc, o.APIStatusError):
            code = exc.status_code
            if code >= 500:
                return ServerError(f"{where} failed (HTTP {code} after {self.retries} retries): {_error_detail(exc)}")
            return ServerError(f"{where} refused the request (HTTP {code}): {_error_detail(exc)}")
        if isinstance(exc, o.APIResponseValidationError | ValueError | json.JSONDecodeError):
            return ServerError(f"{where} answered something that is not an OpenAI chat response ({exc})"
                               .splitlines()[0][:300])
        return ServerError(f"{where}: {type(exc).__name__}: {exc}".splitlines()[0][:300])

    def chat(self, **request: Any) -> Any:
        """One chat completion; ``extra_body`` carries vLLM's own fields. Every failure → ``ServerError``."""
        try:
            return self._client.chat.completions.create(**request)
        except self._openai.OpenAIError as exc:
            raise self._fail(exc) from None
        except (ValueError, json.JSONDecodeError) as exc:  # a body that is not JSON at all
            raise self._fail(exc) from None

    def models(self) -> list[str]:
        """Names the server serves: the base model and each LoRA adapter."""
        try:
            return [m.id for m in self._client.models.list().data]
        except self._openai.OpenAIError as exc:
            raise self._fail(exc) from None
        except (ValueError, json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise self._fail(ValueError(f"bad model list: {exc}")) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.close()


def client_from_settings(settings: Any) -> ServerClient:
    url = settings.get("server.url")
    if not url:
        raise ConfigError("the server backend needs a server address: --server https://host:8000 "
                          "(or server.url in the settings file)")
    return ServerClient(url, read_api_key(settings.get("server.key_file")), timeout=settings["server.timeout"],
                        retries=settings["server.retries"], ca_bundle=settings.get("server.ca_bundle"))


# ------------------------------------------------------------------------------------------ request parts
def encode_frames(frames: np.ndarray, image_format: str = IMAGE_FORMAT) -> list[str]:
    """Frames (T, H, W, 3) uint8 RGB as ``data:`` URLs (JPEG 95 or PNG; see the module docstring)."""
    import cv2

    if image_format == "png":
        ext, params, mime = ".png", [cv2.IMWRITE_PNG_COMPRESSION, 1], "image/png"
    else:
        ext, params, mime = ".jpg", [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY], "image/jpeg"
    urls = []
    for frame in frames:
        ok, data = cv2.imencode(ext, np.ascontiguousarray(frame[..., ::-1]), params)
        if not ok:
            raise VideoError(f"cannot encode a frame as {image_format}")
        urls.append(f"data:{mime};base64," + base64.b64encode(data.tobytes()).decode("ascii"))
    return urls


def server_messages(prompt: PromptSpec, image_urls: list[str]) -> list[dict[str, Any]]:
    """The shared prompt builder's messages with the video part replaced by ``FrameN: <image>`` parts."""
    messages = build_messages(prompt)
    for message in messages:
        parts: list[dict[str, Any]] = []
        for part in message["content"]:
            if part.get("type") == "video":
                for i, url in enumerate(image_urls, 1):
                    parts += [{"type": "text", "text": f"Frame{i}: "}, {"type": "image_url", "image_url": {"url": url}}]
            else:
                parts.append(part)
        message["content"] = parts
    return messages


_TOKEN_ID = re.compile(r"^token_id:(-?\d+)$")


def _token_id(token: str) -> int:
    match = _TOKEN_ID.match(token or "")
    if match is None:
        raise ServerError(f"the server's answer is not what was asked: token {token!r} is not 'token_id:N' "
                          "(is it vLLM? return_tokens_as_token_ids was asked for)")
    return int(match.group(1))


def _choice_logprobs(response: Any) -> tuple[str, list[Any]]:
    """(content, logprobs.content) of the first choice; ServerError when the response lacks them."""
    choices = getattr(response, "choices", None)
    if not choices:
        raise ServerError("the server's answer is not what was asked: no choices in the response")
    choice = choices[0]
    logprobs = getattr(choice, "logprobs", None)
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    if content is None:
        raise ServerError("the server's answer is not what was asked: no logprobs in the response")
    message = getattr(choice, "message", None)
    return str(getattr(message, "content", "") or ""), list(content)


# ------------------------------------------------------------------------------------------ the model's side
@dataclass(frozen=True)
class ServerDevice:
    """Stands where ``LoadedModel.device`` stands: the status bar shows ``Device: server (host)``."""

    name: str = "server"
    dtype: str = ""  # the server's host:port, shown next to the device
    reason: str = "the model runs on a vLLM server"


@dataclass
class ServerModel:
    """Where ``LoadedModel`` stands for the local backend: the processor here, the weights on the server."""

    processor: Any
    model_id: str
    revision: str
    device: ServerDevice
    served_name: str
    frame_size: tuple[int, int]
    load_seconds: float = 0.0
    preprocessing: dict[str, Any] = field(default_factory=dict)
    quantize: str = "none"
    arithmetic: Any = None
    threads: int = 0

    @property
    def tokenizer(self) -> Any:
        return self.processor.tokenizer


class ServedAdapters:
    """Where ``AdapterSet`` stands: adapters are chosen per request by their served name."""

    def __init__(self) -> None:
        self.paths: dict[str, Path] = {}
        self.active: str | None = None

    @property
    def names(self) -> list[str]:
        return list(self.paths)

    def inference_context(self) -> Any:
        return contextlib.nullcontext()


PROCESSOR_PATTERNS = ["*.json", "*.jinja", "*.txt", "*.model", "*.tiktoken"]  # never the weights


def load_client_processor(model_id: str, revision: str, *, allow_download: bool = False) -> Any:
    """The model's processor (tokenizer, chat template, frame size) without its weights."""
    from transformers import AutoProcessor

    from signdesk import paths
    from signdesk.engine.download import local_model_path, looks_like_path

    folder = local_model_path(model_id, revision)
    if folder is None and looks_like_path(model_id):
        raise ModelError(f"{model_id}: no such model folder; check --model (the client needs its processor files)")
    if folder is None:
        from huggingface_hub import snapshot_download

        try:
            folder = snapshot_download(model_id, revision=revision, cache_dir=paths.models_cache_dir(),
                                       allow_patterns=PROCESSOR_PATTERNS, local_files_only=not allow_download)
        except Exception as exc:
            raise ModelError(f"{model_id}: its processor files (tokenizer, chat template, a few MB) are not here "
                             f"({type(exc).__name__}); run `signdesk model download {model_id}` once") from None
    try:
        return AutoProcessor.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{model_id}: cannot load its processor ({exc})".splitlines()[0]) from None


# ------------------------------------------------------------------------------------------ interpreter
class ServerInterpreter:
    """The local ``Interpreter``'s interface, answered by a vLLM server. Thread-safe: calls are serialised."""

    backend = "server"

    def __init__(self, client: ServerClient, loaded: ServerModel, prompt: PromptSpec, *,
                 num_frames: int | None = None, mode: str = "vocab", glossary: list[str] | None = None,
                 top_k: int = 5, max_new_tokens: int = 8, profile: str = "quality", shortlist: int = 0,
                 image_format: str = IMAGE_FORMAT, top_logprobs: int = MAX_TOP_LOGPROBS,
                 frame_size: tuple[int, int] | None = None) -> None:
        from signdesk.engine.shortlist import check_size

        self.client = client
        self.loaded = loaded
        self.adapters = ServedAdapters()
        self.image_format = image_format
        self.top_logprobs = max(1, min(int(top_logprobs), MAX_TOP_LOGPROBS))
        self.max_new_tokens = max_new_tokens
        self.shortlist = check_size(shortlist)
        self._frame_size_override = frame_size  # benchmarks only: frames at another size than the model's
        self._configured: tuple[PromptSpec, int | None, str] = (prompt, num_frames, profile)
        self._lock = threading.RLock()
        self._timings_lock = threading.Lock()
        self.requests_made = 0  # chat requests sent (glossary mode: 1 + the shortlisted glosses per sign)
        self._words: list[str] | None = None
        self._answers: list[list[int]] = []
        self.last_timings_ms: dict[str, float] = {}
        self.mode, self.top_k = "vocab", top_k
        self._use_profile(prompt, num_frames, profile)
        self.configure(mode=mode, glossary=glossary, top_k=top_k)

    @classmethod
    def from_settings(cls, client: ServerClient, loaded: ServerModel, settings: Any,
                      glossary: list[str] | None) -> ServerInterpreter:
        return cls(
            client, loaded, PromptSpec.from_settings(settings), mode=settings["mode"],
            num_frames=settings["frames"] if settings.is_explicit("frames") else None,
            profile=settings.get("profile") or "auto", glossary=glossary, top_k=settings["top_k"],
            max_new_tokens=settings["generation.max_new_tokens"], shortlist=settings["generation.shortlist"],
            image_format=settings["server.image_format"],
        )

    # ----------------------------------------------------------------- configuration (as Interpreter)
    @property
    def frame_size(self) -> tuple[int, int]:
        return self._frame_size_override or self.budget.frame_size

    @property
    def tokens_per_frame(self) -> int:
        return self.budget.tokens_per_frame

    @property
    def glossary(self) -> list[str] | None:
        return self._words

    @property
    def adapter(self) -> str | None:
        return self.adapters.active

    @property
    def served_model(self) -> str:
        """The ``model`` field of requests: the active adapter's served name, or the base model's."""
        return self.adapters.active or self.loaded.served_name

    def configure(self, *, mode: str | None = None, glossary: list[str] | str | None = "keep",
                  top_k: int | None = None, num_frames: int | None = None, profile: str | None = None) -> None:
        with self._lock:
            if glossary != "keep":
                self._words = list(glossary) if glossary else None
                tokenizer = self.loaded.tokenizer
                self._answers = [answer_token_ids(tokenizer, w) for w in self._words] if self._words else []
            apply_choices(self, mode=mode, top_k=top_k, num_frames=num_frames, profile=profile,
                          has_glossary=self._words is not None, device="server")

    def _use_profile(self, prompt: PromptSpec, num_frames: int | None, profile: str) -> None:
        """Frames as the profile says; their size is always the model's own: vLLM's processor resizes every
        image to it, so a smaller profile size would only blur the frames, not save tokens."""
        spec = resolve_profile(profile, "server")
        if spec.scale != 1.0:
            log.warning("profile %s: the server backend sends frames at the model's native size (vLLM resizes "
                        "every image to it); %d frames", spec.name, num_frames or spec.frames)
        native = budget(PROFILES["quality"], self.loaded.processor, None)
        self.budget = Budget(spec.name, native.frame_size, native.tokens_per_frame)
        self.profile = spec
        self.prompt, self.num_frames = prompt, int(num_frames or spec.frames)

    def set_adapter(self, adapter: str | Path | None) -> str | None:
        """Switch to an adapter by its served name (or its folder, served under the folder's name), or None."""
        from signdesk.engine.adapters import read_metadata
        from signdesk.engine.vllm_serve import check_servable

        with self._lock:
            if adapter is None or adapter == "":
                self.adapters.active = None
                self._use_profile(*self._configured)
                return None
            folder = Path(adapter).expanduser()
            is_folder = folder.is_dir()
            if is_folder:
                check_servable(folder)
            name = served_adapter_name(folder if is_folder else str(adapter))
            served = self.client.models()
            if name not in served:
                hint = f" --adapter {folder}" if is_folder else " --adapter DIR"
                raise ServerError(f"the server at {self.client.url} does not serve adapter {name!r} (it serves: "
                                  f"{', '.join(served) or 'nothing'}); restart it with `signdesk server command{hint}`")
            prompt, frames, profile = self._configured
            if is_folder:
                self.adapters.paths[name] = folder.resolve()
                meta = read_metadata(folder)
                if isinstance(meta.get("prompt"), dict) and meta["prompt"].get("user"):
                    prompt = PromptSpec(system=str(meta["prompt"].get("system") or ""),
                                        user=str(meta["prompt"]["user"]))
                if isinstance(meta.get("frames"), int) and meta["frames"] > 0:
                    frames = meta["frames"]
                profile = str(meta.get("profile") or "quality")
            else:
                self.adapters.paths.setdefault(name, Path(name))
            self.adapters.active = name
            self._use_profile(prompt, frames, profile)
            log.info("adapter %s on the server: %s", name, describe(self.budget, self.num_frames))
            return name

    # ----------------------------------------------------------------- interpretation
    def interpret_video(self, path: str | Path, frame_start: int = 1, frame_end: int = -1) -> Result:
        return interpret_file(self, path, frame_start, frame_end)  # the local interpreter's own path

    def interpret_frames(self, frames: np.ndarray, *, presampled: bool = False) -> Result:
        started = time.perf_counter()
        frames = clip_frames(frames, self.num_frames, self.frame_size, presampled=presampled)
        with self._lock:
            t0 = time.perf_counter()
            inputs = self.prepare_inputs(frames)
            t1 = time.perf_counter()
            timings = self.last_timings_ms = {"encode": (t1 - t0) * 1000, "request": 0.0, "parse": 0.0}
            result = self._score(inputs) if self.mode == "vocab" else self._generate(inputs)
            t2 = time.perf_counter()
        # encode: frames to images; parse: reading the answers (summed); request: the rest of the wait, wall time
        timings["request"] = max(0.0, (t2 - t1) * 1000 - timings["parse"])
        result.timings_ms.update(
            decode=(t0 - started) * 1000, preprocess=(t1 - t0) * 1000, model=(t2 - t1) * 1000,
            total=(t2 - started) * 1000, encode=timings["encode"], request=timings["request"], parse=timings["parse"],
        )
        return result

    def prepare_inputs(self, frames: np.ndarray) -> dict[str, Any]:
        """The request's messages (frames encoded once), as ``Interpreter.prepare_inputs`` makes tensors."""
        urls = encode_frames(np.asarray(frames), self.image_format)
        return {"messages": server_messages(self.prompt, urls), "frames": len(urls)}

    @property
    def model(self) -> str:
        return self.served_model

    def _request(self, inputs: dict[str, Any], **options: Any) -> tuple[str, list[tuple[int, float, Any]]]:
        """One greedy chat request; (content, [(token id, logprob, top_logprobs), ...])."""
        extra = {"return_tokens_as_token_ids": True, **options.pop("extra_body", {})}
        response = self.client.chat(model=self.served_model, messages=inputs["messages"], temperature=0.0,
                                    logprobs=True, extra_body=extra, **options)
        t1 = time.perf_counter()
        text, content = _choice_logprobs(response)
        try:
            tokens = [(_token_id(item.token), float(item.logprob), item.top_logprobs) for item in content]
        except (AttributeError, TypeError, ValueError) as exc:
            raise ServerError(f"the server's answer is not what was asked: bad logprobs ({exc})") from None
        with self._timings_lock:  # not self._lock: the caller holds it while these requests run in a pool
            self.requests_made += 1
            self.last_timings_ms["parse"] = self.last_timings_ms.get("parse", 0.0) + (time.perf_counter() - t1) * 1000
        return text, tokens

    def _generate(self, inputs: dict[str, Any]) -> Result:
        raw, tokens = self._request(inputs, max_tokens=self.max_new_tokens, top_logprobs=0)
        text = clean_answer(raw)
        logprobs = [lp for _, lp, _ in tokens if math.isfinite(lp)]
        score = math.exp(sum(logprobs) / len(logprobs)) if logprobs else 0.0
        return Result(text=text, candidates=[Candidate(text, score)] if text else [], mode="free")

    def first_token_logprobs(self, inputs: dict[str, Any]) -> np.ndarray:
        """Each gloss's first-token log-probability from the server's top list; -inf where it was not listed."""
        # choice-constrained over the glossary: the one token generated is the likeliest first token of any
        # gloss (the group local shortlisting always keeps); top_logprobs (raw, unconstrained) give the others
        _, tokens = self._request(inputs, max_tokens=1, top_logprobs=self.top_logprobs,
                                  extra_body={"structured_outputs": {"choice": list(self._words or [])}})
        if not tokens:
            raise ServerError("the server's answer is not what was asked: no answer token")
        top: dict[int, float] = {}
        for item in tokens[0][2] or []:
            top[_token_id(item.token)] = float(item.logprob)
        top.setdefault(tokens[0][0], tokens[0][1])
        return np.array([top.get(ids[0], -np.inf) for ids in self._answers], dtype=np.float64)

    def _score_gloss(self, inputs: dict[str, Any], index: int) -> float:
        """A gloss's log-likelihood: the server generates exactly it (choice-constrained) with logprobs."""
        word, answer = self._words[index], self._answers[index]
        _, tokens = self._request(inputs, max_tokens=len(answer) + 2, top_logprobs=0,
                                  extra_body={"structured_outputs": {"choice": [word]}})
        if not tokens:
            raise ServerError(f"the server's answer is not what was asked: no tokens for {word!r}")
        return float(sum(lp for _, lp, _ in tokens))

    def _score_indices(self, inputs: dict[str, Any], indices: list[int]) -> np.ndarray:
        totals = np.full(len(self._words or []), -np.inf, dtype=np.float64)
        if not indices:
            return totals
        workers = min(CONCURRENCY, len(indices))
        if workers == 1:
            totals[indices[0]] = self._score_gloss(inputs, indices[0])
            return totals
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="signdesk-server") as pool:
            for index, value in zip(indices, pool.map(lambda i: self._score_gloss(inputs, i), indices), strict=True):
                totals[index] = value
        return totals

    def candidate_logprobs(self, inputs: dict[str, Any], *, packed: bool | None = None,
                           shortlist: int = 0) -> np.ndarray:
        """Log-likelihood of every glossary answer (``shortlist`` 0: all; else the shortlisted, others -inf)."""
        return self._vocab_logprobs(inputs, shortlist)[0]

    def _vocab_logprobs(self, inputs: dict[str, Any], shortlist: int) -> tuple[np.ndarray, np.ndarray]:
        from signdesk.engine.shortlist import select

        if not self._words:
            raise ConfigError("vocab mode needs a glossary; set one with --glossary, or use --mode free")
        count = len(self._words)
        if shortlist <= 0 or count <= shortlist:  # every gloss, as shortlist.select keeps them all then
            first = np.zeros(count)
            chosen = list(range(count))
        else:
            first = self.first_token_logprobs(inputs)
            known = np.flatnonzero(np.isfinite(first))
            picked = select(first[known], [self._answers[i][0] for i in known], shortlist)
            chosen = [int(known[i]) for i in picked]
        totals = self._score_indices(inputs, chosen)
        self.last_timings_ms.update(scored=float(len(chosen)), glosses=float(count))
        return totals, first

    def _score(self, inputs: dict[str, Any]) -> Result:
        assert self._words is not None
        shortlist = max(self.shortlist, self.top_k) if self.shortlist else len(self._words)
        totals, first = self._vocab_logprobs(inputs, shortlist)
        scored = np.isfinite(totals)
        if not scored.any():
            raise ServerError("the server's answer is not what was asked: its first answer token starts no gloss "
                              "although the answer was constrained to the glossary; "
                              f"is it serving {self.loaded.model_id}?")
        probs = np.where(scored, np.exp(totals - totals[scored].max()), 0.0)
        probs /= probs.sum()
        key = np.where(scored, -probs, -np.nan_to_num(first, neginf=-1e300))
        order = np.lexsort((np.arange(len(totals)), key, ~scored))[: self.top_k]
        candidates = [Candidate(self._words[i], float(probs[i])) for i in order]
        return Result(text=candidates[0].text, candidates=candidates, mode="vocab")

    def close(self) -> None:
        self.client.close()


def open_server_interpreter(settings: Any, progress: Any = None, allow_download: bool = False) -> ServerInterpreter:
    """``open_interpreter`` for ``backend: server``: processor here, model on the server; checks it serves."""
    from signdesk.engine.adapters import adapter_defaults
    from signdesk.engine.vocab import resolve_glossary

    started = time.perf_counter()
    adapter = settings["model.adapter"]
    adapter_signs = None
    if adapter and Path(adapter).expanduser().is_dir():
        settings, adapter_signs = adapter_defaults(settings)
    glossary = adapter_signs if adapter_signs is not None else resolve_glossary(settings["glossary"])
    client = client_from_settings(settings)
    model_id = settings["model.id"]
    if progress:
        progress("load", None, f"loading the processor of {model_id}")
    processor = load_client_processor(model_id, settings["model.revision"], allow_download=allow_download)
    if progress:
        progress("connect", None, f"connecting to {client.url}")
    served = client.models()
    name = served_model_name(model_id)
    if name not in served:
        raise ServerError(f"the server at {client.url} does not serve {name} (it serves: "
                          f"{', '.join(served) or 'nothing'}); start it with `signdesk server command`'s command")
    native = budget(PROFILES["quality"], processor, None)
    loaded = ServerModel(processor=processor, model_id=model_id, revision=settings["model.revision"],
                         device=ServerDevice(dtype=client.host), served_name=name, frame_size=native.frame_size,
                         load_seconds=time.perf_counter() - started)
    interpreter = ServerInterpreter.from_settings(client, loaded, settings, glossary)
    if adapter:
        if progress:
            progress("adapter", None, f"using adapter {served_adapter_name(adapter)} on the server")
        interpreter.set_adapter(adapter)
    if progress:
        progress("ready", 1.0, "ready")
    return interpreter


def open_evaluation_interpreter(settings: Any, prompt: PromptSpec, glosses: list[str]) -> ServerInterpreter:
    """``signdesk evaluate --server``: the glossary scored exactly (every gloss) by the server."""
    client = client_from_settings(settings)
    model_id = settings["model.id"]
    processor = load_client_processor(model_id, settings["model.revision"])
    name = served_model_name(model_id)
    served = client.models()
    if name not in served:
        raise ServerError(f"the server at {client.url} does not serve {name} (it serves: "
                          f"{', '.join(served) or 'nothing'}); start it with `signdesk server command`'s command")
    native = budget(PROFILES["quality"], processor, None)
    loaded = ServerModel(processor=processor, model_id=model_id, revision=settings["model.revision"],
                         device=ServerDevice(dtype=client.host), served_name=name, frame_size=native.frame_size)
    return ServerInterpreter(client, loaded, prompt, glossary=glosses, top_k=min(5, len(glosses)),
                             image_format=settings["server.image_format"])
