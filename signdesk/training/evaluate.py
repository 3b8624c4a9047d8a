"""Evaluation in vocab mode: top-1/top-5 per instance and per class, per gloss, most confused pairs.

Where the glossary has direction twins (signs that differ only in the direction of the movement, see
``signdesk.training.twins``), each model's result also holds top-1 on their clips and on the others'.

Clips are scored through the engine's own path (``read_clip`` with the interpreter's frames and size,
``prepare_inputs``, ``candidate_logprobs`` under the adapter's inference context), i.e. exactly what
``signdesk interpret`` does, so a number here is a number the live view gets. The same scoring drives
the trainer's evaluation on val each epoch. Reports are JSON, CSV and a PNG chart drawn with Pillow
(no plotting library, no Qt).
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from signdesk.atomicio import atomic_write_bytes, atomic_write_json, atomic_write_text
from signdesk.data.manifest import ClipRow
from signdesk.jobs.events import Stopped
from signdesk.video.decode import read_clip

log = logging.getLogger(__name__)

ScoreProgress = Callable[[int, int], None]  # (clips scored, clips)


def score_rows(interpreter: Any, rows: Sequence[ClipRow], *, progress: ScoreProgress | None = None,
               should_stop: Callable[[], bool] | None = None) -> np.ndarray:
    """Log-likelihood of every glossary word for every clip: shape (clips, glossary)."""
    words = interpreter.glossary or []
    scores = np.zeros((len(rows), len(words)), dtype=np.float64)
    for i, row in enumerate(rows):
        if should_stop is not None and should_stop():
            raise Stopped
        clip = read_clip(row.video, interpreter.num_frames, row.frame_start, row.frame_end,
                         size=interpreter.frame_size)
        inputs = interpreter.prepare_inputs(clip.frames)
        with interpreter.adapters.inference_context():
            scores[i] = interpreter.candidate_logprobs(inputs)
        if progress is not None:
            progress(i + 1, len(rows))
    return scores


def true_ranks(scores: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """0-based rank of each clip's true gloss; ties go to the earlier glossary word, as in the engine."""
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.array([int(np.nonzero(order[i] == label)[0][0]) for i, label in enumerate(labels)], dtype=np.int64)


def summarize(scores: np.ndarray, labels: Sequence[int], glosses: Sequence[str], *,
              answer_lengths: Sequence[int] | None = None, confused: int = 10) -> dict[str, Any]:
    """Instance and class-mean top-1/top-5, per-gloss accuracy and the most confused pairs."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        raise ValueError("no clips to summarize")
    ranks = true_ranks(scores, labels)
    predicted = np.argmax(scores, axis=1)  # argmax takes the first of equal scores, like a stable sort
    per_gloss = []
    for label, gloss in enumerate(glosses):
        mine = ranks[labels == label]
        if len(mine):
            per_gloss.append({"gloss": gloss, "clips": len(mine), "top1": float(np.mean(mine == 0)),
                              "top5": float(np.mean(mine < 5))})
    pairs = Counter((glosses[t], glosses[p]) for t, p in zip(labels, predicted, strict=True) if t != p)
    result: dict[str, Any] = {
        "clips": len(labels),
        "classes": len(per_gloss),
        "top1": float(np.mean(ranks == 0)),
        "top5": float(np.mean(ranks < 5)),
        "class_top1": float(np.mean([g["top1"] for g in per_gloss])),
        "class_top5": float(np.mean([g["top5"] for g in per_gloss])),
        "per_gloss": per_gloss,
        "confused": [{"true": t, "predicted": p, "count": c} for (t, p), c in pairs.most_common(confused)],
    }
    if answer_lengths is not None:
        lengths = np.asarray(answer_lengths, dtype=np.float64)[labels]
        true_scores = scores[np.arange(len(labels)), labels]
        result["loss"] = float(np.mean(-true_scores / lengths))  # mean NLL per answer token, like training
    return result


# ------------------------------------------------------------------------------------------- reports
def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def format_summary(report: dict[str, Any]) -> str:
    """The side-by-side table printed by ``signdesk evaluate``."""
    models = list(report["results"])
    profiles = report.get("profiles") or {}
    visual = "; ".join(f"{name} profile: {p['frames']} frames at {p['frame_size'][0]}x{p['frame_size'][1]}, "
                       f"{p['tokens_per_frame']} tokens per frame" for name, p in profiles.items())
    from signdesk.training.mysigns_eval import format_my_signs

    lines = [f"{report['dataset']['name']} · split {report['split']} · {report['results'][models[0]]['clips']} clips"
             f" · {report['glossary_size']} glosses · " + (visual or f"{report['frames']} frames")]
    width = max(14, *(len(m) + 2 for m in models))
    head = f"{'':<16}" + "".join(f"{m:>{width}}" for m in models)
    lines.append(head)
    for key, label in (("top1", "top-1"), ("top5", "top-5"), ("class_top1", "class top-1"),
                       ("class_top5", "class top-5")):
        lines.append(f"{label:<16}" + "".join(f"{_pct(report['results'][m][key]):>{width}}" for m in models))
    if report.get("direction_twins"):
        for key, label in (("twin_top1", "twins top-1"), ("other_top1", "others top-1")):
            lines.append(f"{label:<16}" + "".join(f"{_pct(report['results'][m]['direction_twins'][key]):>{width}}"
                                                  for m in models))
        first = report["results"][models[0]]["direction_twins"]
        lines.append(f"twins: {first['twin_clips']} clips of signs that differ from another only in the direction "
                     f"of the movement ({', '.join('/'.join(p) for p in report['direction_twins'])}); others: "
                     f"{first['other_clips']} clips")
    last = report["results"][models[-1]]
    if last["confused"]:
        pairs = ", ".join(f"{c['true']}→{c['predicted']} ×{c['count']}" for c in last["confused"][:5])
        lines.append(f"most confused ({models[-1]}): {pairs}")
    if report.get("literature"):
        lit = report["literature"]
        refs = "; ".join(f"{name} {v['top1']:.1f} %" for name, v in lit["published"].items())
        lines.append(f"{lit['subset'].upper()} with the official split: comparable with published top-1 ({refs})")
    lines += format_my_signs(report["results"])
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def per_gloss_csv(report: dict[str, Any]) -> str:
    models = list(report["results"])
    table: dict[str, dict[str, Any]] = {}
    for model in models:
        for row in report["results"][model]["per_gloss"]:
            entry = table.setdefault(row["gloss"], {"gloss": row["gloss"], "clips": row["clips"]})
            entry[f"{model}_top1"] = round(row["top1"], 4)
            entry[f"{model}_top5"] = round(row["top5"], 4)
    columns = ["gloss", "clips"] + [f"{m}_{k}" for m in models for k in ("top1", "top5")]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table.values())
    return buffer.getvalue()


def predictions_csv(rows: Sequence[ClipRow], glosses: Sequence[str], scores: dict[str, np.ndarray]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    models = list(scores)
    writer.writerow(["video_id", "gloss", "signer"]
                    + [f"{m}_{k}" for m in models for k in ("prediction", "rank", "top5")])
    ranks = {m: true_ranks(s, [r.label for r in rows]) for m, s in scores.items()}
    for i, row in enumerate(rows):
        cells: list[Any] = [row.video_id, row.gloss, row.signer]
        for m in models:
            order = np.argsort(-scores[m][i], kind="stable")[:5]
            cells += [glosses[order[0]], int(ranks[m][i]) + 1, "|".join(glosses[j] for j in order)]
        writer.writerow(cells)
    return buffer.getvalue()


_COLORS = [(150, 150, 150), (31, 119, 180), (255, 127, 14)]


def render_chart(report: dict[str, Any]) -> bytes:
    """A PNG: overall top-1/top-5 (instance and class) per model, then top-1 per gloss (up to 40)."""
    from PIL import Image, ImageDraw, ImageFont

    models = list(report["results"])
    colors = {m: _COLORS[i % len(_COLORS)] for i, m in enumerate(models)}
    glosses = report["results"][models[-1]]["per_gloss"]
    if len(glosses) > 40:  # the 20 worst and 20 best of the last model keep the chart readable
        ranked = sorted(glosses, key=lambda g: (g["top1"], g["gloss"]))
        glosses = ranked[:20] + ranked[-20:]
    names = [g["gloss"] for g in glosses]
    by_model = {m: {g["gloss"]: g["top1"] for g in report["results"][m]["per_gloss"]} for m in models}
    summary = [("top1", "top-1"), ("top5", "top-5"), ("class_top1", "class top-1"), ("class_top5", "class top-5")]
    font = ImageFont.load_default()
    bar_h, left, width = 14, 140, 760
    group_h = len(models) * bar_h + 8
    plot_w = width - left - 60
    height = 80 + group_h * (len(summary) + len(names)) + 30
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    title = (f"{report['dataset']['name']} - {report['split']} - {report['results'][models[-1]]['clips']} clips"
             f" - {report['frames']} frames")
    draw.text((10, 8), title, fill="black", font=font)
    x = 10
    for m in models:  # legend
        draw.rectangle([x, 28, x + 12, 40], fill=colors[m])
        draw.text((x + 18, 28), m, fill="black", font=font)
        x += 40 + 7 * len(m)

    def group(y: int, label: str, values: dict[str, float | None]) -> int:
        draw.text((10, y + 2), label[:22], fill="black", font=font)
        for k, m in enumerate(models):
            value = values.get(m)
            top = y + k * bar_h
            if value is None:
                continue
            right = left + max(1, int(plot_w * value))
            draw.rectangle([left, top, right, top + bar_h - 3], fill=colors[m])
            draw.text((right + 4, top), f"{100 * value:.0f}%", fill="black", font=font)
        return y + group_h

    y = 52
    for key, label in summary:
        y = group(y, label, {m: report["results"][m][key] for m in models})
    draw.line([10, y + 4, width - 10, y + 4], fill=(200, 200, 200))
    draw.text((10, y + 10), "top-1 per gloss", fill="black", font=font)
    y += 28
    for name in names:
        y = group(y, name, {m: by_model[m].get(name) for m in models})
    buffer = io.BytesIO()
    image.crop((0, 0, width, min(height, y + 10))).save(buffer, format="PNG")
    return buffer.getvalue()


def write_reports(out: Path, report: dict[str, Any], rows: Sequence[ClipRow], glosses: Sequence[str],
                  scores: dict[str, np.ndarray]) -> dict[str, Path]:
    """metrics.json, per_gloss.csv, predictions.csv and chart.png in ``out`` (each written atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "metrics": atomic_write_json(out / "metrics.json", report),
        "per_gloss": atomic_write_text(out / "per_gloss.csv", per_gloss_csv(report)),
        "predictions": atomic_write_text(out / "predictions.csv", predictions_csv(rows, glosses, scores)),
    }
    try:
        files["chart"] = atomic_write_bytes(out / "chart.png", render_chart(report))
    except Exception as exc:  # a chart is a convenience; the numbers are already written
        log.warning("could not draw the chart: %s", exc)
    return files


# ------------------------------------------------------------------------------------------- the command
def _adapter_metadata(adapter: Path | None) -> dict[str, Any]:
    from signdesk.engine.adapters import check_adapter_folder, read_metadata

    if adapter is None:
        return {}
    return read_metadata(check_adapter_folder(adapter))


def run_evaluate(args: Any) -> int:
    """``signdesk evaluate``: exit 0 with reports written, 3 when stopped; bad input raises (exit 2)."""
    import sys
    import traceback

    from signdesk.errors import SignDeskError
    from signdesk.jobs.events import EXIT_FAILED, EXIT_USAGE, EventWriter, StopFlag

    events = EventWriter(getattr(args, "events", None))
    try:
        return _evaluate(args, events, StopFlag(getattr(args, "stop_file", None)))
    except SignDeskError as exc:
        events.emit("failed", error=str(exc), exit_code=EXIT_USAGE)
        raise
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        log.debug("evaluation failed\n%s", traceback.format_exc())
        events.emit("failed", error=message, exit_code=EXIT_FAILED)
        print(f"signdesk: error: evaluation failed: {message} (run with -v for details)", file=sys.stderr)
        return EXIT_FAILED
    finally:
        events.close()


def _evaluate(args: Any, events: Any, stop: Any) -> int:
    import json
    import sys
    import time

    from signdesk.config import load_settings
    from signdesk.engine.interpreter import Interpreter
    from signdesk.engine.loader import load_model
    from signdesk.engine.profiles import LEGACY, PROFILES, resolve_profile
    from signdesk.engine.prompts import PromptSpec, answer_token_ids
    from signdesk.errors import ConfigError
    from signdesk.jobs.events import EXIT_FINISHED, EXIT_STOPPED
    from signdesk.mysigns.training import shown_dataset_path
    from signdesk.training.dataset import LITERATURE, load_dataset
    from signdesk.training.mysigns_eval import my_signs_summary
    from signdesk.training.twins import dataset_twins, twin_summary

    adapter = Path(args.adapter).expanduser().absolute() if args.adapter else None
    if adapter is None and args.no_base:
        raise ConfigError("--no-base needs --adapter: there would be nothing to evaluate")
    data = load_dataset(args.dataset, need=(args.split,))
    meta = _adapter_metadata(adapter)
    base = meta.get("base_model") or {}
    overrides = {"model.id": args.model or base.get("id"), "device": args.device,
                 "model.revision": args.revision or (base.get("revision") if not args.model else None)}
    from signdesk.engine.server_options import server_overrides

    overrides.update(server_overrides(args))
    settings = load_settings({k: v for k, v in overrides.items() if v is not None})
    # visual budget profiles: --profile (repeatable), else the adapter's (quality for one from before
    # profiles), else the settings'; resolved on the device once the model is loaded
    adapter_profile = str(meta.get("profile") or LEGACY) if adapter else None
    wanted = list(getattr(args, "profile", None) or [adapter_profile or settings["profile"]])
    prompt = PromptSpec(**meta["prompt"]) if meta.get("prompt") else PromptSpec.from_settings(settings)
    rows = data.splits[args.split][: args.limit or None]
    notes: list[str] = []
    if len(rows) < len(data.splits[args.split]):
        notes.append(f"--limit: only the first {len(rows)} of {len(data.splits[args.split])} clips were scored")
    if meta.get("glossary") and list(meta["glossary"]) != data.glosses:
        notes.append("the adapter was trained on another glossary than this dataset's; scored over the dataset's")
    if meta.get("dataset_hash") and meta["dataset_hash"] == data.content_hash and args.split != "test":
        notes.append(f"the adapter was trained on this dataset: its {args.split} split is not held out")
    started = time.time()
    events.emit("start", command="evaluate", dataset=str(data.folder), split=args.split, clips=len(rows),
                adapter=str(adapter) if adapter else None, model=settings["model.id"])
    # the arithmetic live use runs with, so the figures are the ones users get
    if settings["backend"] == "server":  # scored by a vLLM server (signdesk.engine.server)
        from signdesk.engine.server import open_evaluation_interpreter

        interpreter = open_evaluation_interpreter(settings, prompt, data.glosses)
        loaded = interpreter.loaded
    else:
        loaded = load_model(settings["model.id"], settings["model.revision"], device=settings["device"],
                            quantize=settings["quantize"], cpu_arithmetic=settings["cpu_arithmetic"])
        interpreter = Interpreter(loaded, prompt, glossary=data.glosses, top_k=min(5, len(data.glosses)))
    profiles = list(dict.fromkeys(resolve_profile(p, loaded.device.name).name for p in wanted))

    def frames_for(profile: str) -> int:
        """--frames, else the adapter's (with its own profile), else a chosen setting, else the profile's."""
        if args.frames:
            return int(args.frames)
        if adapter_profile == profile and isinstance(meta.get("frames"), int) and meta["frames"] > 0:
            return int(meta["frames"])
        return int(settings["frames"]) if settings.is_explicit("frames") else PROFILES[profile].frames

    if adapter_profile and any(p != adapter_profile for p in profiles):
        notes.append(f"the adapter was trained with the {adapter_profile} profile; other profiles show it "
                     "inputs unlike those it learnt from")
    visual: dict[str, Any] = {}
    lengths = [len(answer_token_ids(loaded.tokenizer, g)) for g in data.glosses]
    twins = dataset_twins(data.meta, data.glosses)
    labels = [r.label for r in rows]
    runs = ([] if args.no_base else ["base"]) + (["adapter"] if adapter else [])
    scores: dict[str, np.ndarray] = {}
    results: dict[str, Any] = {}
    try:
        for profile in profiles:
            for run in runs:
                name = run if len(profiles) == 1 else f"{run} {profile}"  # one result per model and profile
                interpreter.set_adapter(adapter if run == "adapter" else None)
                interpreter.configure(profile=profile, num_frames=frames_for(profile))
                visual[profile] = {"frames": interpreter.num_frames, "frame_size": list(interpreter.frame_size),
                                   "tokens_per_frame": interpreter.tokens_per_frame}

                def progress(done: int, total: int, name: str = name) -> None:
                    events.emit("progress", model=name, done=done, total=total)

                scores[name] = score_rows(interpreter, rows, progress=progress, should_stop=stop.is_set)
                results[name] = summarize(scores[name], labels, data.glosses, answer_lengths=lengths)
                mine = my_signs_summary(scores[name], rows, data.glosses)  # held-out takes of my signs, apart
                if mine:
                    results[name]["my_signs"] = mine
                if twins:  # signs that differ only in direction, apart from the rest: did it learn motion?
                    results[name]["direction_twins"] = twin_summary(scores[name], labels, data.glosses, twins)
    except Stopped:
        events.emit("stopped", exit_code=EXIT_STOPPED)
        print("signdesk: evaluation stopped; no report written", file=sys.stderr)
        return EXIT_STOPPED
    subset = data.wlasl_subset()
    report: dict[str, Any] = {
        "dataset": {"name": (data.meta.get("glossary") or {}).get("name", data.folder.name),
                    "path": shown_dataset_path(data.folder),
                    "content_hash": data.content_hash, "split_method": (data.meta.get("split") or {}).get("method")},
        "split": args.split,
        "model": {"id": settings["model.id"], "revision": settings["model.revision"]},
        "adapter": str(adapter) if adapter else None,
        "frames": visual[profiles[0]]["frames"],
        "profile": profiles[0],
        "profiles": visual,  # per profile: frames, frame size, tokens per frame
        "glossary_size": len(data.glosses),
        "direction_twins": [list(p) for p in twins],  # per model: results[...]["direction_twins"]
        "prompt": {"system": prompt.system, "user": prompt.user},
        "results": results,
        "notes": notes,
        "seconds": round(time.time() - started, 1),
    }
    if subset and args.split == "test":
        wanted = int(subset.removeprefix("wlasl"))
        report["literature"] = {
            "subset": subset,
            "published": LITERATURE[subset],
            "glosses": len(data.glosses),
            "test_clips": len(data.splits["test"]),
        }
        if len(data.glosses) < wanted:
            notes.append(f"{wanted - len(data.glosses)} of the {wanted} glosses had no usable clips (dead links), "
                         "so this test set is smaller than the published one")
    out = Path(args.out).expanduser() if args.out else (
        adapter / f"eval-{args.split}" if adapter else data.folder / f"eval-{args.split}-base")
    files = write_reports(out, report, rows, data.glosses, scores)
    events.emit("finished", exit_code=EXIT_FINISHED, out=str(out),
                results={m: {**{k: r[k] for k in ("top1", "top5", "class_top1", "class_top5", "clips")},
                             **({"my_signs_top1": r["my_signs"]["top1"]} if r.get("my_signs") else {})}
                         for m, r in results.items()})
    if args.json:
        print(json.dumps({**report, "files": {k: str(v) for k, v in files.items()}}, indent=2, ensure_ascii=False))
    else:
        print(format_summary(report))
        print(f"reports in {out}")
    return EXIT_FINISHED
