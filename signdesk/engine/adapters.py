"""LoRA adapters (PEFT folders, safetensors only): load several, switch between them and none at run time.

The base model is loaded once; adapters are added to it by name. An adapter whose SignDesk metadata
(or PEFT config) names another base model is refused, since its weights would be meaningless there.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from signdesk.errors import ModelError

log = logging.getLogger(__name__)

METADATA_FILE = "signdesk.json"
# What makes a folder a PEFT adapter SignDesk loads (safetensors only, never pickles).
ADAPTER_CONFIG, ADAPTER_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
ADAPTER_FILES = (ADAPTER_CONFIG, ADAPTER_WEIGHTS)


def config_fingerprint(model_config: Any) -> str:
    """A short hash of the shapes that decide whether LoRA weights fit a model."""
    text = model_config.text_config
    vision = model_config.vision_config
    shape = [
        text.hidden_size, text.num_hidden_layers, text.num_attention_heads, text.num_key_value_heads,
        text.intermediate_size, text.vocab_size, vision.hidden_size, vision.num_hidden_layers,
    ]
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]


def read_metadata(folder: Path) -> dict[str, Any]:
    path = folder / METADATA_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ModelError(f"{path}: unreadable adapter metadata; retrain or remove the file") from None


def check_adapter_folder(folder: str | Path) -> Path:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such adapter folder")
    if not (folder / ADAPTER_CONFIG).exists():
        raise ModelError(f"{folder}: not a PEFT adapter (no adapter_config.json)")
    if not (folder / ADAPTER_WEIGHTS).exists():
        if any(folder.glob("adapter_model*.bin")) or any(folder.glob("*.pt")):
            raise ModelError(f"{folder}: adapter weights are pickled (.bin); only safetensors adapters are loaded")
        raise ModelError(f"{folder}: no adapter_model.safetensors in the adapter folder")
    return folder


def base_model_of(folder: Path) -> tuple[str | None, str | None]:
    """(base model name, config fingerprint) that the adapter was trained on, as far as recorded."""
    meta = read_metadata(folder)
    base = meta.get("base_model") or {}
    name = base.get("id")
    if name is None:
        try:
            name = json.loads((folder / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]
        except (OSError, ValueError, KeyError):
            name = None
    return name, base.get("fingerprint")


def check_base(folder: Path, model_id: str, fingerprint: str) -> None:
    """Refuse an adapter made for another base model.

    Same name: fine. Different name: refused, unless the recorded shapes equal this model's (a local
    copy or a test model of the same base), since the name alone can legitimately differ then.
    """
    name, recorded = base_model_of(folder)
    if not name or name == model_id:
        return
    if recorded is not None and recorded == fingerprint:
        log.info("adapter %s names base %s; shapes match %s, accepting", folder, name, model_id)
        return
    raise ModelError(
        f"{folder}: this adapter was trained for {name}, not {model_id}; "
        f"load it with --model {name} or pick another adapter"
    )


def adapter_defaults(settings: Any) -> tuple[Any, list[str] | None]:
    """``settings`` completed from the adapter's metadata, and the adapter's signs (None: use the glossary setting).

    An adapter brings what it needs to run: its base model (and revision) unless a model was chosen
    (settings file, environment, flag), and its glossary unless one was chosen. Its prompt and frame
    count are applied when it is switched on (``Interpreter.set_adapter``). A missing or broken adapter
    fails here, before the slow model load.
    """
    adapter = settings["model.adapter"]
    if not adapter:
        return settings, None
    folder = check_adapter_folder(adapter)
    meta = read_metadata(folder)
    name, _ = base_model_of(folder)
    overrides: dict[str, Any] = {}
    if name and not settings.is_explicit("model.id"):
        overrides["model.id"] = name
        revision = (meta.get("base_model") or {}).get("revision")
        if revision and not settings.is_explicit("model.revision"):
            overrides["model.revision"] = revision
    if overrides:
        settings = settings.with_overrides(overrides, source=f"{folder / METADATA_FILE}")
    words = meta.get("glossary")
    if settings.is_explicit("glossary") or not isinstance(words, list) or not words:
        return settings, None
    return settings, [str(w) for w in words]


# peft reads transformers' deprecated ``is_gradient_checkpointing`` when it wraps a model: a FutureWarning
# on every adapter load that the user can do nothing about. It goes to the log (shown with -v) instead.
_CHECKPOINTING_WARNING = r".*is_gradient_checkpointing.*"


@contextlib.contextmanager
def _checkpointing_warning_logged() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", message=_CHECKPOINTING_WARNING, category=FutureWarning)
        yield
    for item in caught:
        if issubclass(item.category, FutureWarning) and "is_gradient_checkpointing" in str(item.message):
            log.info("peft/transformers: %s", item.message)
        else:  # any other warning is shown as it would have been
            warnings.showwarning(item.message, item.category, item.filename, item.lineno, item.file, item.line)


class AdapterSet:
    """Adapters on one base model, by name; ``active`` None means the plain base model."""

    def __init__(self, model: Any, model_id: str) -> None:
        self.model = model  # becomes a PeftModel once the first adapter is loaded
        self.model_id = model_id
        self.fingerprint = config_fingerprint(model.config)
        self.paths: dict[str, Path] = {}
        self.active: str | None = None

    @property
    def names(self) -> list[str]:
        return list(self.paths)

    def load(self, folder: str | Path, name: str | None = None) -> str:
        folder = check_adapter_folder(folder)
        check_base(folder, self.model_id, self.fingerprint)
        resolved = folder.resolve()
        for existing, path in self.paths.items():
            if path == resolved:
                return existing
        name = name or folder.name
        while name in self.paths:
            name += "_"
        from peft import PeftModel

        try:
            with _checkpointing_warning_logged():
                if isinstance(self.model, PeftModel):
                    self.model.load_adapter(str(folder), adapter_name=name, is_trainable=False)
                else:
                    self.model = PeftModel.from_pretrained(self.model, str(folder), adapter_name=name,
                                                           is_trainable=False)
        except (ValueError, RuntimeError, KeyError) as exc:
            raise ModelError(f"{folder}: the adapter does not fit this model ({exc})".splitlines()[0]) from None
        self.model.eval()
        self.paths[name] = resolved
        return name

    def activate(self, name: str | None) -> None:
        if name is not None and name not in self.paths:
            raise ModelError(f"no adapter named {name!r} is loaded (loaded: {', '.join(self.paths) or 'none'})")
        if name is not None:
            self.model.set_adapter(name)
        self.active = name

    def inference_context(self):
        """Run the base model alone while ``active`` is None, even with adapters loaded."""
        if self.active is None and self.paths:
            return self.model.disable_adapter()
        return contextlib.nullcontext()
