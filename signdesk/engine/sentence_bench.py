"""``signdesk bench sentences``: the sentence line's cost and agreement on a packaged set of gloss rows.

For each row of a reference set (``resources/sentences/<name>.yaml``, or a file in that format) the
loaded model writes the sentence exactly as the app does (``SentenceMaker``), and the report gives the
time per sentence (all rows, and rows of 6 glosses), the prefill/decode split and tokens, and an
agreement score with the row's reference sentences:

chrF (Popović 2015; sacrebleu's defaults): the F-score (β = 2, recall weighted twice) of the
character 1- to 6-grams the sentence shares with a reference, spaces ignored, here case-insensitive;
0–100, the best over the row's references, averaged over the rows. It rewards near-misses ("I went
to the store" against "I go to the store") that exact match does not. With random weights (the test
models) it is meaningless; what those runs measure is time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from signdesk.errors import ConfigError

#: The packaged reference set used when none is named.
DEFAULT_SET = "everyday"


def sets_dir() -> Path:
    from signdesk import paths

    return paths.resources_dir() / "sentences"


def packaged_sets() -> dict[str, Path]:
    folder = sets_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def load_reference_set(name_or_path: str = DEFAULT_SET) -> list[dict[str, Any]]:
    """Rows ``{"glosses": [...], "references": [...], "unsure": {position: [alternatives]}}``; bad input is one
    ``ConfigError`` line naming the file and row."""
    import yaml

    path = packaged_sets().get(name_or_path) or Path(name_or_path).expanduser()
    if not path.is_file():
        known = ", ".join(packaged_sets()) or "none"
        raise ConfigError(f"{name_or_path}: no such reference set (packaged: {known}; or give a YAML file)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not a readable YAML reference set ({type(exc).__name__})") from None
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{path}: a reference set needs a non-empty list 'rows'")
    checked = []
    for i, row in enumerate(rows, 1):
        glosses = row.get("glosses") if isinstance(row, dict) else None
        refs = row.get("references") if isinstance(row, dict) else None
        if not isinstance(glosses, list) or not glosses or not all(isinstance(g, str) and g.strip() for g in glosses):
            raise ConfigError(f"{path}: row {i} needs 'glosses', a list of words")
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and r.strip() for r in refs):
            raise ConfigError(f"{path}: row {i} needs 'references', a list of sentences")
        unsure = row.get("unsure") or {}
        if not isinstance(unsure, dict) or not all(
                isinstance(k, int) and 0 <= k < len(glosses) and isinstance(v, list) for k, v in unsure.items()):
            raise ConfigError(f"{path}: row {i}: 'unsure' maps gloss positions (0-based) to lists of alternatives")
        checked.append({"glosses": [g.strip() for g in glosses], "references": [r.strip() for r in refs],
                        "unsure": {k: [str(a) for a in v] for k, v in unsure.items()}})
    return checked


def row_glosses(row: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """A reference row as ``SentenceMaker`` input: (gloss, alternatives), alternatives only where unsure."""
    return [(g, tuple(row["unsure"].get(i, ()))) for i, g in enumerate(row["glosses"])]


# ------------------------------------------------------------------------------------------ the score
def _char_ngrams(text: str, n: int) -> Counter:
    chars = "".join(text.lower().split())
    return Counter(chars[i : i + n] for i in range(len(chars) - n + 1))


def chrf(hypothesis: str, references: list[str] | str, *, order: int = 6, beta: float = 2.0) -> float:
    """Sentence chrF (0–100), the best over ``references``: see the module's docstring."""
    refs = [references] if isinstance(references, str) else list(references)
    return max((_chrf_one(hypothesis, ref, order, beta) for ref in refs), default=0.0)


def _chrf_one(hyp: str, ref: str, order: int, beta: float) -> float:
    precisions, recalls = [], []
    for n in range(1, order + 1):
        h, r = _char_ngrams(hyp, n), _char_ngrams(ref, n)
        if not h or not r:  # sentences shorter than n characters: this order counts no more
            continue
        common = sum((h & r).values())
        precisions.append(common / sum(h.values()))
        recalls.append(common / sum(r.values()))
    if not precisions:
        return 0.0
    p, r = statistics.fmean(precisions), statistics.fmean(recalls)
    if p == 0 and r == 0:
        return 0.0
    return 100.0 * (1 + beta**2) * p * r / (beta**2 * p + r)


# ------------------------------------------------------------------------------------------ the bench
def run_sentence_bench(maker: Any, rows: list[dict[str, Any]], *, warmup: bool = True, repeat: int = 1,
                       progress: Any = None) -> dict[str, Any]:
    """Write every row's sentence with ``maker`` (a ``SentenceMaker``); times, tokens and chrF per row and overall.

    With ``repeat`` > 1 each row is written that many times and its fastest time is kept (the usual way to
    keep other programs on a shared machine out of a timing); the median of all runs is reported as well.
    """
    from signdesk.engine.sentences import token_budget

    if warmup:  # the first call prefills the fixed prompt part once per model: not a sentence's cost
        t0 = time.perf_counter()
        maker.make(row_glosses(rows[0]))
        warm_ms = (time.perf_counter() - t0) * 1000
    else:
        warm_ms = 0.0
    results = []
    every_run: list[float] = []
    for i, row in enumerate(rows, 1):
        runs = [maker.make(row_glosses(row)) for _ in range(max(1, repeat))]
        every_run += [r.timings_ms["total"] for r in runs]
        out = min(runs, key=lambda r: r.timings_ms["total"])
        score = chrf(out.text, row["references"])
        budget = token_budget(len(row["glosses"]), maker.max_new_tokens)
        results.append({"glosses": out.gloss_line, "sentence": out.text, "references": row["references"],
                        "chrf": round(score, 1), "tokens": out.tokens, "budget": budget,
                        "ms": {k: round(v, 1) for k, v in out.timings_ms.items()}})
        if progress is not None:
            progress(i, len(rows), results[-1])
    summary = summarize(results)
    summary["median_all_runs_ms"] = round(statistics.median(every_run), 1)
    return {"rows": results, "summary": summary, "warmup_ms": round(warm_ms, 1), "repeat": max(1, repeat)}


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    totals = [r["ms"]["total"] for r in results]
    six = [r["ms"]["total"] for r in results if len(r["glosses"].split()) == 6]
    decode_tokens = sum(max(0, r["tokens"] - 1) for r in results)
    decode_ms = sum(r["ms"].get("decode", 0.0) for r in results)
    return {
        "sentences": len(results),
        "mean_ms": round(statistics.fmean(totals), 1),
        "median_ms": round(statistics.median(totals), 1),
        "max_ms": round(max(totals), 1),
        "six_gloss_rows": len(six),
        "six_gloss_mean_ms": round(statistics.fmean(six), 1) if six else None,
        "prefill_mean_ms": round(statistics.fmean(r["ms"].get("prefill", 0.0) for r in results), 1),
        "decode_ms_per_token": round(decode_ms / decode_tokens, 1) if decode_tokens else None,
        "tokens_mean": round(statistics.fmean(r["tokens"] for r in results), 1),
        # sentences that ran to their token budget without ending (random weights never end one)
        "at_budget": sum(r["tokens"] >= r["budget"] for r in results),
        "chrf_mean": round(statistics.fmean(r["chrf"] for r in results), 1),
    }


def format_report(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [f"model {report['model']} on {report['device']} ({report['dtype']}, {report['threads']} threads); "
             f"set {report['set']}, max_new_tokens {report['max_new_tokens']}"]
    for row in report["rows"] if report.get("show") else []:
        lines.append(f"  {row['ms']['total']:8.0f} ms  chrF {row['chrf']:5.1f}  {row['glosses']}  →  {row['sentence']}")
    six = f"{s['six_gloss_mean_ms']:.0f} ms" if s["six_gloss_mean_ms"] is not None else "–"
    lines += [
        f"sentences        {s['sentences']} (first-call prefix prefill {report['warmup_ms']:.0f} ms, not counted)",
        f"time/sentence    mean {s['mean_ms']:.0f} ms, median {s['median_ms']:.0f} ms, max {s['max_ms']:.0f} ms"
        + (f" (fastest of {report['repeat']} runs per row; median of all runs {s['median_all_runs_ms']:.0f} ms)"
           if report.get("repeat", 1) > 1 else ""),
        f"6-gloss rows     {s['six_gloss_rows']}: mean {six}",
        f"split            prefill (+1st token) {s['prefill_mean_ms']:.0f} ms; decode "
        + (f"{s['decode_ms_per_token']:.0f} ms/token" if s["decode_ms_per_token"] is not None else "–")
        + f"; {s['tokens_mean']:.1f} tokens per sentence"
        + (f" ({s['at_budget']} ran to their token budget without ending)" if s["at_budget"] else ""),
        f"agreement        chrF {s['chrf_mean']:.1f} / 100 (character 1–6-grams, β=2; meaningless on random weights)",
    ]
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    import sys

    from signdesk.engine.loader import open_interpreter
    from signdesk.engine.options import settings_from_args
    from signdesk.engine.sentences import SentenceMaker

    rows = load_reference_set(args.set)  # a bad set (or number) fails before the slow model load
    if args.repeat < 1:
        raise ConfigError(f"--repeat must be at least 1 (got {args.repeat})")
    if args.length is not None:
        rows = [row for row in rows if len(row["glosses"]) == args.length]
        if not rows:
            raise ConfigError(f"{args.set}: no row has {args.length} glosses")
    if args.limit is not None:
        if args.limit < 1:
            raise ConfigError(f"--limit must be at least 1 (got {args.limit})")
        rows = rows[: args.limit]
    settings = settings_from_args(args)
    overrides = {"sentences.max_new_tokens": args.max_new_tokens} if args.max_new_tokens is not None else {}
    settings = settings.with_overrides(overrides)
    interpreter = open_interpreter(settings)
    maker = SentenceMaker(interpreter, settings["sentences.max_new_tokens"])

    def progress(i: int, total: int, row: dict[str, Any]) -> None:
        if args.verbose:
            print(f"[{i}/{total}] {row['ms']['total']:.0f} ms  {row['sentence']}", file=sys.stderr, flush=True)

    report = run_sentence_bench(maker, rows, repeat=args.repeat, progress=progress)
    loaded = interpreter.loaded
    report.update(model=loaded.model_id, device=loaded.device.name, dtype=str(loaded.device.dtype),
                  threads=loaded.threads or None, set=args.set, max_new_tokens=maker.max_new_tokens, show=args.show)
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0


def register(subparsers: Any) -> None:
    from signdesk.engine.options import add_model_options

    b = subparsers.add_parser(
        "bench-sentences", help="time and score the sentence line on packaged gloss rows (also: bench sentences)",
        description="Write an English sentence for each gloss row of a reference set with the loaded model, as the "
                    "app's sentence line does, and report the time per sentence (and for 6-gloss rows), the "
                    "prefill/decode split and chrF agreement with the reference sentences.",
        epilog="Also spelled `signdesk bench sentences`. Example: signdesk bench sentences --model /tmp/like2b")
    b.add_argument("--set", default=DEFAULT_SET, metavar="NAME|FILE",
                   help=f"a packaged reference set or a YAML file (default {DEFAULT_SET})")
    b.add_argument("--length", type=int, metavar="N", help="only the rows of N glosses (e.g. 6)")
    b.add_argument("--limit", type=int, metavar="N", help="only the first N rows")
    b.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="write each row N times and keep its fastest time (a shared machine's noise out)")
    b.add_argument("--max-new-tokens", type=int, metavar="N", help="setting sentences.max_new_tokens (8–128)")
    b.add_argument("--show", action="store_true", help="print every row's sentence")
    b.add_argument("--json", action="store_true")
    add_model_options(b)
    b.set_defaults(handler=_run)
