"""The Training tab's model, without Qt: what the user chose on each page, and the commands that follow.

The wizard turns its state into ordinary ``signdesk`` command lines (LLaMA-Factory's idea: arguments
saved to a file, the CLI run as a child, progress read back), so everything the GUI does can also be
copied and run in a terminal ("show command"). The state persists as one small JSON file written
atomically; a damaged or older file never stops the tab from opening (unknown keys are dropped,
wrong values fall back to their defaults).

Also here: the presets of the fine-tune page and cheap checks of what a step left on disk (a
prepared dataset, an adapter, a resumable run, an evaluation report). Nothing here imports torch,
transformers or the data pipeline, so the window can use it while it opens.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from signdesk import paths
from signdesk.atomicio import atomic_write_json
from signdesk.engine.adapters import ADAPTER_FILES
from signdesk.hardware import TRAIN_DEVICE_CHOICES as DEVICES
from signdesk.training.config import DEFAULT_TARGETS, TrainConfig
from signdesk.training.metadata import CHECKPOINT_MARK

STATE_VERSION = 1
STEPS = ("index", "glossary", "download", "prepare", "mysigns", "train", "evaluate", "use")
STEP_TITLES = {
    "index": "Dataset index",
    "glossary": "Glossary",
    "download": "Download",
    "prepare": "Prepare and split",
    "mysigns": "My signs",
    "train": "Fine-tune",
    "evaluate": "Evaluate",
    "use": "Use",
}
JOB_STEPS = ("download", "prepare", "train", "evaluate")  # steps that run a background job (job kind = step)
SPLIT_METHODS = ("official", "stratified", "signer")
#: What the fine-tune step trains on: the prepared dataset, my signs alone, or both (signdesk.mysigns.training).
TRAIN_SOURCES = ("dataset", "mine", "mixed")
PACKAGED_GLOSSARY = "core-320"
PRESET_GLOSSARIES = ("WLASL100", "WLASL300")

ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]
TARGETS = {"attention": ATTENTION, "attention+mlp": list(DEFAULT_TARGETS)}  # attention+mlp: train's default
DEFAULT_FRAMES = 8  # the packaged settings' ``frames`` (TrainConfig leaves frames to the settings)
_TRAIN = TrainConfig()  # the fine-tune page starts from ``signdesk train``'s own defaults, not a copy of them


# ------------------------------------------------------------------------------------------- presets
@dataclass(frozen=True)
class TrainSettings:
    """The fine-tune page's settings; ``to_config`` is the ``--config`` file for ``signdesk train``."""

    epochs: float = _TRAIN.epochs
    max_steps: int = _TRAIN.max_steps  # > 0: stop after this many optimizer steps (overrides epochs)
    learning_rate: float = _TRAIN.learning_rate
    batch_size: int = _TRAIN.batch_size
    grad_accum: int = _TRAIN.grad_accum
    rank: int = _TRAIN.lora.rank
    alpha: int = _TRAIN.lora.alpha
    dropout: float = _TRAIN.lora.dropout
    targets: str = "attention+mlp"  # a key of TARGETS
    early_stopping: int = _TRAIN.early_stopping_patience  # evaluations without a better val top-1; 0 = never
    frames: int = DEFAULT_FRAMES  # frames per clip; live use samples the same number

    def to_config(self, quantize: str = "none") -> dict[str, Any]:
        return {
            "epochs": self.epochs, "max_steps": self.max_steps, "learning_rate": self.learning_rate,
            "batch_size": self.batch_size, "grad_accum": self.grad_accum, "frames": self.frames,
            "early_stopping_patience": self.early_stopping, "quantize": quantize,
            "lora": {"rank": self.rank, "alpha": self.alpha, "dropout": self.dropout,
                     "target_modules": list(TARGETS.get(self.targets, TARGETS["attention+mlp"]))},
        }

    @classmethod
    def from_json(cls, data: Any, base: TrainSettings | None = None) -> TrainSettings:
        return _typed(cls, data, base or cls())


PRESETS: dict[str, TrainSettings] = {
    "quick": TrainSettings(epochs=1.0, learning_rate=3e-4, rank=8, alpha=16, targets="attention", grad_accum=2,
                           early_stopping=0),
    "standard": TrainSettings(),
    "thorough": TrainSettings(epochs=8.0, learning_rate=1e-4, rank=32, alpha=64, dropout=0.1, early_stopping=3),
}
PRESET_NOTES = {
    "quick": "One pass over the clips with a small adapter (rank 8, attention only). Minutes on a GPU: "
             "use it to check that everything works.",
    "standard": "Three passes, rank 16 on attention and MLP, best checkpoint kept. A good first adapter.",
    "thorough": "Up to eight passes at a lower rate, rank 32, stopping early once validation stops "
                "improving. The best accuracy; hours on a consumer GPU.",
}


# ------------------------------------------------------------------------------------------- the state
@dataclass
class WizardState:
    """Everything the wizard remembers between runs. Paths are absolute strings; "" means "the default"."""

    version: int = STATE_VERSION
    page: int = 0
    # 1 index
    index_path: str = ""
    # 2 glossary: a packaged or preset name, or a glossary file
    glossary: str = PACKAGED_GLOSSARY
    glossary_edited: bool = False  # the words were edited in the tab (``glossary`` is then the saved file)
    # 3 download
    videos_dir: str = ""
    workers: int = 4
    per_host: int = 2
    host_delay: float = 0.5
    retry_failed: bool = False
    # 4 prepare
    dataset_dir: str = ""
    split: str = "official"
    seed: int = 0
    min_per_gloss: int = 3
    # my signs: the takes folder ("" = the user data folder's my-signs)
    my_signs_dir: str = ""
    # 5 fine-tune
    train_on: str = "dataset"  # one of TRAIN_SOURCES
    preset: str = "standard"
    train: TrainSettings = field(default_factory=TrainSettings)
    device: str = "auto"
    quantize: str = _TRAIN.quantize
    adapter_dir: str = ""
    train_runs: list[str] = field(default_factory=list)  # job folders of the adapter's runs (a resume adds one)
    # 6 evaluate
    eval_split: str = "test"
    compare_base: bool = True
    # 7 use
    adapter_in_use: str = ""
    # each job step's latest job folder: re-attached or shown again after a restart
    jobs: dict[str, str] = field(default_factory=dict)

    # ---------------------------------------------------------------- files
    @staticmethod
    def default_file() -> Path:
        return paths.config_dir() / "training_wizard.json"

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> WizardState:
        """The saved state; the defaults for anything missing, damaged or from a newer version."""
        path = Path(path) if path else cls.default_file()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict) or not isinstance(data.get("version"), int) or data["version"] > STATE_VERSION:
            return cls()
        state = _typed(cls, {k: v for k, v in data.items() if k != "train"}, cls())
        state.train = TrainSettings.from_json(data.get("train"))
        state.jobs = {k: v for k, v in state.jobs.items() if k in JOB_STEPS and isinstance(v, str)}
        state.train_runs = [v for v in state.train_runs if isinstance(v, str)]
        state.page = min(max(state.page, 0), len(STEPS) - 1)
        if state.split not in SPLIT_METHODS:
            state.split = "official"
        if state.preset not in PRESETS and state.preset != "custom":
            state.preset = "standard"
        if state.device not in DEVICES:
            state.device = "auto"
        if state.train_on not in TRAIN_SOURCES:
            state.train_on = "dataset"
        return state

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = STATE_VERSION
        return data

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        return atomic_write_json(Path(path) if path else self.default_file(), self.to_json())

    def copy(self) -> WizardState:
        return replace(self, train=self.train, jobs=dict(self.jobs), train_runs=list(self.train_runs))

    # ---------------------------------------------------------------- where things go
    @property
    def videos(self) -> Path:
        return Path(self.videos_dir) if self.videos_dir else workspace_dir() / "videos"

    @property
    def glossary_label(self) -> str:
        """The glossary's name as ``signdesk data prepare`` records it (a file's stem)."""
        return Path(self.glossary).stem if is_glossary_file(self.glossary) else self.glossary

    @property
    def dataset(self) -> Path:
        if self.dataset_dir:
            return Path(self.dataset_dir)
        return default_dataset_dir(self.glossary_label, self.split, self.seed)

    @property
    def my_signs(self) -> Path:
        return Path(self.my_signs_dir) if self.my_signs_dir else paths.my_signs_dir()

    @property
    def training_label(self) -> str:
        """What an adapter is named after: the glossary, ``my-signs`` or ``my-signs+GLOSSARY``."""
        mine = {"dataset": "", "mine": "my-signs", "mixed": "my-signs+"}[self.train_on]
        return mine if self.train_on == "mine" else mine + self.glossary_label

    @property
    def training_dataset(self) -> Path:
        """What train and evaluate read: the prepared dataset, or a training set built from my signs."""
        if self.train_on == "dataset":
            return self.dataset
        from signdesk.mysigns.training import default_out

        return default_out(self.my_signs, self.dataset if self.train_on == "mixed" else None)

    @property
    def adapter(self) -> Path | None:
        return Path(self.adapter_dir) if self.adapter_dir else None

    def eval_dir(self) -> Path | None:
        return self.adapter / f"eval-{self.eval_split}" if self.adapter else None


def _typed(cls: type, data: Any, default: Any) -> Any:
    """``default`` with the fields of ``data`` that have the right type (ints accepted for floats)."""
    if not isinstance(data, dict):
        return default
    values = {}
    for f in fields(cls):
        if f.name not in data or f.name == "train":
            continue
        current, value = getattr(default, f.name), data[f.name]
        if isinstance(current, bool) or isinstance(value, bool):
            ok = isinstance(current, bool) and isinstance(value, bool)
        elif isinstance(current, float):
            ok = isinstance(value, int | float)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, type(current))
        if ok:
            values[f.name] = value
    return replace(default, **values)


# ------------------------------------------------------------------------------------------- places
def workspace_dir() -> Path:
    """Where the wizard keeps the index, edited glossaries, clips, datasets and configs by default."""
    return paths.data_dir() / "training"


def default_index_path() -> Path:
    return workspace_dir() / "WLASL_v0.3.json"


def edited_glossary_path(name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "glossary"
    return workspace_dir() / "glossaries" / f"{safe}.txt"


def default_dataset_dir(glossary: str, split: str, seed: int) -> Path:
    suffix = "" if split == "official" else f"-seed{seed}"
    return workspace_dir() / "datasets" / f"{_safe(glossary)}-{split}{suffix}"


def config_file_for(adapter: Path) -> Path:
    """The ``--config`` file the wizard writes for a training run into ``adapter``."""
    return workspace_dir() / "configs" / f"{adapter.name}.json"


def suggest_adapter_dir(glossary: str, preset: str, taken: Path | None = None) -> Path:
    """A fresh adapter folder under the adapters folder, named after the glossary, preset and date."""
    base = paths.adapters_dir() / f"{_safe(glossary)}-{preset}-{time.strftime('%Y%m%d')}"
    candidate, n = base, 1
    while adapter_has_run(candidate) or (taken is not None and candidate == taken):
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-.") or "glossary"


def is_glossary_file(spec: str) -> bool:
    return bool(spec) and (os.sep in spec or "/" in spec or spec.endswith(".txt"))


# ------------------------------------------------------------------------------------------- what is on disk
def dataset_ready(folder: Path) -> bool:
    return (folder / "dataset.json").is_file()


def adapter_ready(folder: Path | None) -> bool:
    return folder is not None and all((folder / name).is_file() for name in ADAPTER_FILES)


def adapter_has_run(folder: Path) -> bool:
    """``signdesk train`` refuses a new run here (it would have to be resumed instead)."""
    return (folder / "checkpoints").exists() or any((folder / name).exists() for name in ADAPTER_FILES)


def adapter_resumable(folder: Path | None) -> bool:
    """A run in ``folder`` has a complete checkpoint and its saved settings: ``--resume`` can go on."""
    if folder is None or not (folder / "train_config.json").is_file():
        return False
    checkpoints = folder / "checkpoints"
    return checkpoints.is_dir() and any(p.is_file() for p in checkpoints.glob(f"checkpoint-*/{CHECKPOINT_MARK}"))


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON file (dataset.json, metrics.json, signdesk.json), or None when missing or damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def train_history(job_folders: list[str]) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(step, loss) and (step, val top-1) points of earlier training jobs, from their events (for the chart)."""
    from signdesk.jobs.events import EventTail

    losses: list[tuple[float, float]] = []
    accuracies: list[tuple[float, float]] = []
    for folder in job_folders:
        for event in EventTail(Path(folder) / "events.jsonl").read():
            if event.get("event") == "step" and isinstance(event.get("loss"), int | float):
                losses.append((float(event["step"]), float(event["loss"])))
            elif event.get("event") == "eval" and isinstance(event.get("top1"), int | float):
                accuracies.append((float(event["step"]), float(event["top1"])))
    # a resumed run repeats the steps after its checkpoint: the later run's points win
    return _last_per_step(losses), _last_per_step(accuracies)


def _last_per_step(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    kept: list[tuple[float, float]] = []
    for point in points:
        while kept and kept[-1][0] >= point[0]:
            kept.pop()
        kept.append(point)
    return kept


# ------------------------------------------------------------------------------------------- commands
def download_argv(state: WizardState) -> list[str]:
    argv = ["data", "download", "--wlasl", state.index_path, "--glossary", state.glossary,
            "--out", str(state.videos), "--workers", str(state.workers), "--per-host", str(state.per_host),
            "--host-delay", _num(state.host_delay), "--no-progress"]
    return [*argv, "--retry-failed"] if state.retry_failed else argv


def prepare_argv(state: WizardState) -> list[str]:
    argv = ["data", "prepare", "--wlasl", state.index_path, "--glossary", state.glossary,
            "--videos", str(state.videos), "--out", str(state.dataset), "--split", state.split]
    if state.split != "official":
        argv += ["--seed", str(state.seed)]
    if state.split == "stratified":
        argv += ["--min-per-gloss", str(state.min_per_gloss)]
    return argv


def train_argv(state: WizardState, model_id: str, revision: str = "main", *, resume: bool = False) -> list[str]:
    """``signdesk train`` of the app's own model; a resumed run keeps its saved settings, so no ``--config``."""
    adapter = state.adapter
    if adapter is None:
        raise ValueError("choose an adapter folder first")
    argv = ["train", "--dataset", str(state.training_dataset), "--out", str(adapter), "--model", model_id,
            "--device", state.device]
    if revision and revision != "main":
        argv += ["--revision", revision]
    return [*argv, "--resume"] if resume else [*argv, "--config", str(config_file_for(adapter))]


def write_train_config(state: WizardState) -> Path:
    adapter = state.adapter
    if adapter is None:
        raise ValueError("choose an adapter folder first")
    return atomic_write_json(config_file_for(adapter), state.train.to_config(state.quantize))


def my_signs_argv(state: WizardState) -> list[str] | None:
    """``signdesk my-signs dataset`` that builds what fine-tune trains on, or None (the prepared dataset)."""
    if state.train_on == "dataset":
        return None
    argv = ["my-signs", "dataset", "--folder", str(state.my_signs), "--out", str(state.training_dataset)]
    return [*argv, "--mix", str(state.dataset)] if state.train_on == "mixed" else argv


def write_training_set(state: WizardState) -> Path:
    """Build the training set of my signs (alone or mixed) that fine-tune trains on (task thread); its folder."""
    if state.train_on != "dataset":
        from signdesk.mysigns.store import TakeStore
        from signdesk.mysigns.training import build_training_set

        build_training_set(TakeStore(state.my_signs), state.training_dataset,
                           mix=state.dataset if state.train_on == "mixed" else None)
    return state.training_dataset


def my_signs_summary(state: WizardState) -> dict[str, int] | None:
    """Takes of my signs per split and words, from the takes folder's dataset.json (None: no takes yet)."""
    meta = read_json(state.my_signs / "dataset.json")
    counts = (meta or {}).get("counts") or {}
    if not meta or not counts.get("clips"):
        return None
    return {k: int(counts.get(k, 0)) for k in ("clips", "glosses", "train", "val", "test")}


def evaluate_argv(state: WizardState) -> list[str]:
    adapter, out = state.adapter, state.eval_dir()
    if adapter is None or out is None:
        raise ValueError("train an adapter first")
    argv = ["evaluate", "--dataset", str(state.training_dataset), "--adapter", str(adapter), "--split",
            state.eval_split,
            "--out", str(out), "--device", state.device]
    return argv if state.compare_base else [*argv, "--no-base"]


def display_command(argv: list[str]) -> str:
    """The command as a user would type it (``signdesk`` is the app's own executable)."""
    return shlex.join(["signdesk", *argv])


def _num(value: float) -> str:
    return f"{value:g}"
