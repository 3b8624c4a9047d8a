"""Find a model locally, or download it from the Hugging Face hub with progress (resumable)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from signdesk import paths
from signdesk.errors import ModelError

log = logging.getLogger(__name__)

ModelProgress = Callable[[str, float | None, str], None]  # (stage, fraction 0..1 or None, message)

# Safetensors weights and the processor/tokenizer files only: never pickled weights, never code.
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "*.tiktoken", "*.md"]


def is_local_folder(model_id: str) -> bool:
    return Path(model_id).expanduser().is_dir()


def looks_like_path(model_id: str) -> bool:
    """Hub ids are ``org/name``; a path starts at a root, a drive, ``~`` or ``.``."""
    return Path(model_id).expanduser().is_absolute() or model_id.startswith((".", "~")) or "\\" in model_id


def _tqdm_reporting(progress: ModelProgress | None, label: str, expected_bytes: int | None = None):
    """A tqdm class that also reports byte progress to ``progress`` (the GUI's progress bar).

    ``snapshot_download`` builds several bars from this class (files done, bytes received, bytes
    written) and grows the byte totals as each file starts, so no single bar's ``n / total`` is the
    download's fraction. Report bytes against ``expected_bytes`` (measured beforehand), never backwards.
    """
    import threading

    from tqdm.auto import tqdm

    lock = threading.Lock()
    reported = [0.0]

    class ReportingTqdm(tqdm):
        def update(self, n=1):
            result = super().update(n)
            if progress is not None and expected_bytes and self.unit == "B":
                fraction = min(self.n / expected_bytes, 1.0)
                with lock:  # bars update from several download threads
                    if fraction > reported[0]:
                        reported[0] = fraction
                        progress("download", fraction, f"downloading {label}")
            return result

    return ReportingTqdm


def _bytes_to_download(model_id: str, revision: str) -> int | None:
    """How many bytes the download will fetch (files not cached yet), or None if that cannot be told."""
    from huggingface_hub import snapshot_download

    try:
        files = snapshot_download(
            model_id, revision=revision, cache_dir=paths.models_cache_dir(), allow_patterns=ALLOW_PATTERNS,
            tqdm_class=_tqdm_reporting(None, model_id), dry_run=True,
        )
    except Exception:  # the download itself then says what went wrong
        return None
    return sum(f.file_size or 0 for f in files if f.will_download)


def local_model_path(model_id: str, revision: str = "main") -> Path | None:
    """The folder holding ``model_id`` if it is a local folder or already in the cache, else None."""
    if is_local_folder(model_id):
        folder = Path(model_id).expanduser()
        if not (folder / "config.json").exists():
            raise ModelError(f"{folder}: not a model folder (no config.json); point --model at a saved model")
        return folder
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            model_id, revision=revision, cache_dir=paths.models_cache_dir(), local_files_only=True,
            allow_patterns=ALLOW_PATTERNS,
        )
    except (LocalEntryNotFoundError, FileNotFoundError, ValueError):
        return None
    folder = Path(folder)
    return folder if (folder / "config.json").exists() else None


def offline_variable() -> str | None:
    """The environment variable that keeps the hub client offline (HF_HUB_OFFLINE, TRANSFORMERS_OFFLINE), or None."""
    from huggingface_hub import constants

    if not constants.HF_HUB_OFFLINE:
        return None
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
            return var
    return "HF_HUB_OFFLINE"


def download_model(model_id: str, revision: str = "main", progress: ModelProgress | None = None) -> Path:
    """Download ``model_id`` into SignDesk's model cache; an interrupted download resumes next time."""
    if is_local_folder(model_id):
        return Path(model_id).expanduser()
    offline = offline_variable()
    if offline:  # the hub client would refuse with an error that blames the connection: say what is going on
        folder = local_model_path(model_id, revision)
        if folder is not None:
            return folder
        how = f"{offline}={os.environ[offline]}" if os.environ.get(offline) else offline
        raise ModelError(
            f"model {model_id} is not in the model cache and offline mode is on ({how}); "
            f"unset {offline} and run `signdesk model download {model_id}`, or download it on a connected machine "
            "and pass --model with its folder"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    expected_bytes = None
    if progress:
        progress("download", 0.0, f"downloading {model_id}")
        expected_bytes = _bytes_to_download(model_id, revision)
    try:
        folder = snapshot_download(
            model_id, revision=revision, cache_dir=paths.models_cache_dir(),
            allow_patterns=ALLOW_PATTERNS, tqdm_class=_tqdm_reporting(progress, model_id, expected_bytes),
        )
    except RepositoryNotFoundError:
        raise ModelError(f"model {model_id!r} does not exist on the Hugging Face hub; check the id") from None
    except RevisionNotFoundError:
        raise ModelError(f"model {model_id!r} has no revision {revision!r}") from None
    except (HfHubHTTPError, OSError) as exc:
        log.info("downloading %s failed: %r", model_id, exc)  # the details, for -v and the log
        raise ModelError(
            f"could not download {model_id}; check the internet connection and run "
            f"`signdesk model download {model_id}` again: files already downloaded are kept"
        ) from None
    if progress:
        progress("download", 1.0, f"downloaded {model_id}")
    return Path(folder)


def resolve_model(model_id: str, revision: str = "main", *, allow_download: bool = False,
                  progress: ModelProgress | None = None) -> Path:
    """A local folder for ``model_id``: as given, from the cache, or (if allowed) freshly downloaded."""
    folder = local_model_path(model_id, revision)
    if folder is not None:
        return folder
    if looks_like_path(model_id):
        raise ModelError(f"{model_id}: no such model folder; check the path given to --model")
    if allow_download:
        return download_model(model_id, revision, progress)
    raise ModelError(
        f"model {model_id} is not downloaded yet; run `signdesk model download {model_id}` "
        "(or pass --model with a local model folder)"
    )
