"""``signdesk data ...``: stats, glossary, download, trim, prepare and bench.

Handlers import their heavy modules lazily so ``signdesk --help`` stays fast. Long commands take
``--events FILE`` (JSON lines; ``-`` for stdout) and ``--stop-file PATH``, which is how the GUI
runs them as child processes; in a terminal they show a progress bar and stop cleanly on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from signdesk.jobs.events import EXIT_FAILED, EXIT_STOPPED
from signdesk.jobs.events import EXIT_FINISHED as EXIT_OK

DEFAULT_GLOSSARY = "core-320"


def cmd_fetch_index(args: argparse.Namespace) -> int:
    """Download the WLASL index (about 12 MB) from its public URL, with JSON-lines progress if asked."""
    from signdesk.data.index_download import WLASL_INDEX_URL, download_index
    from signdesk.jobs.events import EXIT_STOPPED, EventWriter, StopFlag, Stopped

    stop = StopFlag(args.stop_file)
    with EventWriter(args.events) as events:
        events.emit("start", url=args.url)

        def progress(done: int, total: int | None) -> None:
            events.emit("progress", bytes=done, total=total, fraction=(done / total) if total else None)

        try:
            result = download_index(args.out, args.url or WLASL_INDEX_URL, progress=progress, should_stop=stop.is_set)
        except Stopped:
            events.emit("stopped")
            return EXIT_STOPPED
        events.emit("finished", path=str(result.path), bytes=result.bytes, sha256=result.sha256)
    print(f"saved the WLASL index to {result.path} ({result.bytes / 1e6:.1f} MB, sha256 {result.sha256[:12]}…)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="WLASL data: stats, glossaries, download, trim, prepare",
                                 description="Turn the WLASL index into a clean, reproducible dataset. "
                                             "WLASL is licensed for academic, non-commercial use only (C-UDA).")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    for add in (_register_stats, _register_fetch_index, _register_glossary, _register_download, _register_trim,
                _register_prepare, _register_bench):  # the order of ``data --help``
        add(sub)


def _register_stats(sub: argparse._SubParsersAction) -> None:
    """``data stats``: the index's counts."""
    p = sub.add_parser("stats", help="counts of a WLASL index: glosses, instances, splits, hosts, signers")
    _add_wlasl(p)
    p.add_argument("--strict", action="store_true", help="refuse an index with any malformed entry")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_stats)


def _register_fetch_index(sub: argparse._SubParsersAction) -> None:
    """``data fetch-index``: downloading the index."""
    p = sub.add_parser("fetch-index", help="download WLASL_v0.3.json from its public URL")
    p.add_argument("--out", default="WLASL_v0.3.json", help="where to save it (default: ./WLASL_v0.3.json)")
    p.add_argument("--url", default=None, help="another address of the same file")
    p.add_argument("--events", help="JSON-lines progress file ('-' for stdout)")
    p.add_argument("--stop-file", help="stop cleanly when this file appears")
    p.set_defaults(handler=cmd_fetch_index)


def _register_glossary(sub: argparse._SubParsersAction) -> None:
    """``data glossary``: list, show and check."""
    g = sub.add_parser("glossary", help="list, show or check glossaries")
    gsub = g.add_subparsers(dest="glossary_command", metavar="ACTION", required=True)
    p = gsub.add_parser("list", help="packaged glossaries and presets")
    _add_wlasl(p, required=False)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_glossary_list)
    p = gsub.add_parser("show", help="print a glossary, one gloss per line")
    p.add_argument("glossary", help="core-320, WLASL100, WLASL300, ... or a file")
    _add_wlasl(p, required=False)
    p.set_defaults(handler=cmd_glossary_show)
    p = gsub.add_parser("check", help="check a glossary against the index; lists unknown words")
    p.add_argument("glossary", help="a glossary file (one gloss per line, '#' comments) or a name")
    _add_wlasl(p)
    p.add_argument("--json", action="store_true",
                   help="print JSON; exit code 1 when a word is unknown or repeated")
    p.set_defaults(handler=cmd_glossary_check)


def _register_download(sub: argparse._SubParsersAction) -> None:
    """``data download``: fetching a glossary's clips."""
    p = sub.add_parser("download", help="download, validate and trim the clips of a glossary",
                       epilog="Exit codes: 0 done (some links failing is normal); 1 nothing usable: you seem to be "
                              "offline (every failure a network error) or every link failed; 2 bad input; "
                              "3 stopped (run again to resume).")
    _add_wlasl(p)
    _add_glossary(p)
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for clips and manifest.jsonl")
    p.add_argument("--workers", type=_positive, default=4, metavar="N", help="downloads at once (default 4)")
    p.add_argument("--per-host", type=_positive, default=2, metavar="N",
                   help="downloads at once from one host (default 2)")
    p.add_argument("--host-delay", type=float, default=0.5, metavar="S",
                   help="seconds between requests to one host (default 0.5)")
    p.add_argument("--retries", type=int, default=3, metavar="N", help="retries after a transient failure")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S", help="network timeout (default 30)")
    p.add_argument("--min-frames", type=_positive, default=8, metavar="N",
                   help="frames a clip needs to be kept (default 8)")
    p.add_argument("--limit", type=_positive, metavar="N", help="only the first N instances (to try things)")
    p.add_argument("--retry-failed", action="store_true",
                   help="try again instances recorded as dead, invalid or unsupported")
    p.add_argument("--keep-raw", action="store_true", help="keep whole YouTube videos after cutting")
    p.add_argument("--cookies", type=Path, metavar="FILE", help="a cookies.txt for YouTube (yt-dlp)")
    _add_job_flags(p)
    p.set_defaults(handler=cmd_download)


def _register_trim(sub: argparse._SubParsersAction) -> None:
    """``data trim``: cutting clips out of whole YouTube videos."""
    p = sub.add_parser("trim", help="cut YouTube instances out of whole videos you already have",
                       epilog="A whole video that is not a usable video is recorded as invalid, with the reason. "
                              "Exit codes: 0 done; 1 nothing could be cut; 2 bad input; 3 stopped.")
    _add_wlasl(p)
    _add_glossary(p)
    p.add_argument("--raw", required=True, type=Path, metavar="DIR",
                   help="folder of whole videos named <youtube id>.<ext> (read only)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for clips and manifest.jsonl")
    p.add_argument("--workers", type=_positive, default=2, metavar="N", help="videos cut at once (default 2)")
    p.add_argument("--min-frames", type=_positive, default=8, metavar="N",
                   help="frames a clip needs to be kept (default 8)")
    _add_job_flags(p)
    p.set_defaults(handler=cmd_trim)


def _register_prepare(sub: argparse._SubParsersAction) -> None:
    """``data prepare``: the train/val/test split."""
    p = sub.add_parser("prepare", help="split downloaded clips into train/val/test manifests")
    _add_wlasl(p)
    _add_glossary(p)
    p.add_argument("--videos", required=True, type=Path, metavar="DIR", help="the download folder")
    p.add_argument("--out", required=True, type=Path, metavar="DATASET", help="dataset folder to write")
    p.add_argument("--split", choices=("official", "stratified", "signer"), default="official",
                   help="official: WLASL's own (default); stratified: per gloss; signer: signer-independent")
    p.add_argument("--seed", type=int, default=0, help="seed of the stratified and signer splits")
    p.add_argument("--ratios", default="70,15,15", metavar="T,V,T",
                   help="train,val,test shares for stratified and signer splits (default 70,15,15)")
    p.add_argument("--min-per-gloss", type=int, default=3, metavar="N",
                   help="stratified: glosses with fewer clips are dropped (default 3)")
    p.add_argument("--keep-rare", action="store_true", help="stratified: keep rare glosses, in train only")
    p.add_argument("--verify", action="store_true", help="decode every clip again instead of trusting the manifest")
    p.add_argument("--events", metavar="FILE", help="write JSON-lines progress events here ('-' = stdout)")
    p.add_argument("--stop-file", type=Path, metavar="PATH", help="stop (before writing) when this file appears")
    p.add_argument("--json", action="store_true", help="print dataset.json's counts as JSON")
    p.set_defaults(handler=cmd_prepare)


def _register_bench(sub: argparse._SubParsersAction) -> None:
    """``data bench``: download and prepare benchmarks."""
    b = sub.add_parser("bench", help="measure download throughput and prepare time")
    bsub = b.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    p = bsub.add_parser("download", help="loopback download throughput with 1 and N workers")
    p.add_argument("--workers", default="1,4,8", metavar="N,N", help="worker counts to compare (default 1,4,8)")
    p.add_argument("--clips", type=_positive, default=48, metavar="N", help="generated clips (default 48)")
    p.add_argument("--latency-ms", type=float, default=100.0, metavar="MS",
                   help="server latency per request (default 100)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_bench_download)
    p = bsub.add_parser("prepare", help="time prepare on a full index with a synthetic download folder")
    _add_wlasl(p)
    p.add_argument("--glossary", default="WLASL2000", metavar="G", help="glossary to prepare (default WLASL2000)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_bench_prepare)


# ---------------------------------------------------------------------------------------- helpers
def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _add_wlasl(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--wlasl", required=required, type=Path, metavar="FILE", help="WLASL_v0.3.json")


def _add_glossary(p: argparse.ArgumentParser) -> None:
    p.add_argument("--glossary", default=DEFAULT_GLOSSARY, metavar="G",
                   help=f"core-320, WLASL100/300/1000/2000 or a file (default {DEFAULT_GLOSSARY})")


def _add_job_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", metavar="FILE", help="write JSON-lines progress events here ('-' = stdout)")
    p.add_argument("--stop-file", type=Path, metavar="PATH", help="stop cleanly when this file appears")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _index(args: argparse.Namespace, strict: bool = False):
    from signdesk.data.index import load_index

    index = load_index(args.wlasl, strict=strict)
    if index.problems:
        print(f"signdesk: warning: {args.wlasl}: {len(index.problems)} malformed parts left out, first: "
              f"{index.problems[0]}", file=sys.stderr)
    return index


def _glossary(spec: str, index):
    from signdesk.data.glossary import check_glossary, resolve_glossary

    check = check_glossary(resolve_glossary(spec, index), index)
    for written, canonical in [(w, c) for w, c in check.respelled if w.lower() != c][:5]:
        print(f"signdesk: note: glossary word {written!r} is WLASL's {canonical!r}", file=sys.stderr)
    return check.matched_glossary()


class _JobOutput:
    """Events to the job's JSON-lines file (the GUI contract) and to a terminal progress bar, from any thread."""

    def __init__(self, args: argparse.Namespace, desc: str, bar: bool = True) -> None:
        from signdesk.jobs.events import EventWriter

        self.sink = EventWriter(args.events) if args.events else None
        quiet = not bar or getattr(args, "no_progress", False) or args.events == "-"
        self.show_bar = False if quiet else None  # None: tqdm shows it only on a terminal
        self.desc = desc
        self.bar = None

    def __call__(self, event: dict[str, Any]) -> None:
        from signdesk.data.events import progress_bar

        kind = event.get("event")
        if self.sink is not None:
            self.sink.emit(kind, **{k: v for k, v in event.items() if k != "event"})
        if kind == "start":
            self.bar = progress_bar(event.get("total", 0), self.desc, self.show_bar)
            self.bar.update(event.get("done", 0))
        elif kind == "progress" and self.bar is not None:
            self.bar.update(1)
            if event.get("status") != "ok":
                self.bar.set_postfix_str(f"{event['video_id']}: {event['status']}", refresh=False)
        elif kind == "warning":
            message = f"signdesk: warning: {event['message']}"
            (self.bar.write(message, file=sys.stderr) if self.bar is not None
             else print(message, file=sys.stderr))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.sink is not None:
            self.sink.close()


# ---------------------------------------------------------------------------------------- handlers
def cmd_stats(args: argparse.Namespace) -> int:
    from signdesk.data.index import index_stats

    stats = index_stats(_index(args, strict=args.strict))
    if args.json:
        print(json.dumps(stats, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{stats['file']}\n  glosses    {stats['glosses']:>7,}\n  instances  {stats['instances']:>7,}")
    print("  splits     " + "  ".join(f"{k} {v:,}" for k, v in stats["splits"].items()))
    pg = stats["per_gloss"]
    print(f"  per gloss  {pg['min']}–{pg['max']} (mean {pg['mean']})\n  signers    {stats['signers']:>7,}")
    yt = stats["youtube"]
    print(f"  YouTube    {yt['instances']:,} instances from {yt['videos']:,} videos ({yt['trimmed']:,} cut by frames)")
    print("  hosts")
    for host, n in stats["hosts"].items():
        print(f"    {host:<42} {n:>6,}")
    print("  sources")
    for source, n in stats["sources"].items():
        print(f"    {source:<42} {n:>6,}")
    if stats["problems"]:
        print(f"  malformed  {len(stats['problems'])} (left out)")
        for problem in stats["problems"][:20]:
            print(f"    {problem}")
    return EXIT_OK


def cmd_glossary_list(args: argparse.Namespace) -> int:
    from signdesk.data.glossary import PRESETS, packaged_names, resolve_glossary

    index = _index(args) if args.wlasl else None
    rows = []
    for name in packaged_names():
        glossary = resolve_glossary(name)
        row = {"name": name, "kind": "packaged", "glosses": len(glossary), "source": glossary.source}
        if index is not None:
            row["instances"] = len(index.instances_of([g for g in glossary.glosses if g in index.class_index]))
        rows.append(row)
    for name, count in PRESETS.items():
        row = {"name": name.upper(), "kind": "preset", "glosses": count,
               "source": "the first glosses of the index"}
        if index is not None:
            row["instances"] = len(index.instances_of(index.first_glosses(count)))
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for row in rows:
        extra = f", {row['instances']:,} instances" if "instances" in row else ""
        print(f"{row['name']:<12} {row['glosses']:>5} glosses{extra}  ({row['kind']}: {row['source']})")
    return EXIT_OK


def cmd_glossary_show(args: argparse.Namespace) -> int:
    from signdesk.data.glossary import resolve_glossary

    index = _index(args) if args.wlasl else None
    glossary = _glossary(args.glossary, index) if index is not None else resolve_glossary(args.glossary)
    print("\n".join(glossary.glosses))
    return EXIT_OK


def cmd_glossary_check(args: argparse.Namespace) -> int:
    from signdesk.data.glossary import check_glossary, resolve_glossary

    index = _index(args)
    glossary = resolve_glossary(args.glossary, index)
    check = check_glossary(glossary, index)
    instances = len(index.instances_of(check.matched))
    if args.json:
        print(json.dumps({
            "glossary": glossary.name, "source": glossary.source, "words": len(glossary),
            "matched": len(check.matched), "instances": instances,
            "respelled": [{"written": w, "wlasl": c} for w, c in check.respelled],
            "unknown": [{"line": line, "word": w, "suggestions": s} for line, w, s in check.unknown],
            "duplicates": [{"line": line, "word": w, "first_line": first} for line, w, first in check.duplicates],
        }, indent=2, ensure_ascii=False))
    else:
        print(f"{glossary.name}: {len(check.matched)} of {len(glossary)} words are WLASL glosses "
              f"({instances:,} instances)")
        for written, canonical in check.respelled:
            if written.lower() != canonical:  # case alone is not worth a line
                print(f"  {written!r} is WLASL's {canonical!r}")
        if check.duplicates:  # reported with the unknown words: one slip must not hide the others
            print(f"{len(check.duplicates)} repeated (kept once):")
            for line, word, first in check.duplicates:
                print(f"  line {line}: {word!r} repeats line {first}")
        if check.unknown:
            print(f"{len(check.unknown)} unknown:")
            for line, word, hints in check.unknown:
                hint = f"  did you mean {', '.join(map(repr, hints))}?" if hints else ""
                print(f"  line {line}: {word!r}{hint}")
    return EXIT_OK if check.ok else EXIT_FAILED


def _run_download(args: argparse.Namespace, instances, options, desc: str) -> int:
    from signdesk.data.download import Downloader, format_summary
    from signdesk.jobs.events import StopFlag

    output = _JobOutput(args, desc)
    stop = StopFlag(args.stop_file)
    try:
        report = Downloader(options, emit=output, stop=stop).run(instances)
    finally:
        output.close()
    print(format_summary(report), file=sys.stderr)
    print(f"manifest: {options.out / 'manifest.jsonl'}", file=sys.stderr)
    if report.stopped:
        print(f"signdesk: stopped ({stop.reason}); {report.not_done} instances left for the next run",
              file=sys.stderr)
        return EXIT_STOPPED
    if report.verdict:  # offline, or every link failed: one plain last line, and not a success
        print(f"signdesk: {report.verdict}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    from signdesk.data.download import DownloadOptions

    index = _index(args)
    glossary = _glossary(args.glossary, index)
    instances = index.instances_of(list(glossary.glosses))
    if args.limit:
        instances = instances[: args.limit]
    options = DownloadOptions(
        out=args.out, workers=args.workers, per_host=args.per_host, host_delay=max(args.host_delay, 0.0),
        retries=max(args.retries, 0), timeout=args.timeout, min_frames=args.min_frames, keep_raw=args.keep_raw,
        retry_failed=args.retry_failed, cookies=args.cookies)
    return _run_download(args, instances, options, f"download {glossary.name}")


def cmd_trim(args: argparse.Namespace) -> int:
    from signdesk.data import urls
    from signdesk.data.download import DownloadOptions
    from signdesk.errors import SignDeskError

    if not args.raw.is_dir():
        raise SignDeskError(f"{args.raw}: no such folder of whole YouTube videos")
    index = _index(args)
    glossary = _glossary(args.glossary, index)
    instances = [i for i in index.instances_of(list(glossary.glosses)) if urls.is_youtube(i.url)]
    # retry_failed: trimming only reads local files, so an instance marked invalid (its whole video
    # was not a video) is cut as soon as a good copy is put in the folder.
    options = DownloadOptions(out=args.out, workers=args.workers, min_frames=args.min_frames,
                              raw_dir=args.raw, offline=True, keep_raw=True, host_delay=0.0, per_host=args.workers,
                              retry_failed=True)
    return _run_download(args, instances, options, f"trim {glossary.name}")


def cmd_prepare(args: argparse.Namespace) -> int:
    from signdesk.data.prepare import PrepareOptions, prepare_dataset
    from signdesk.data.split import Ratios
    from signdesk.jobs.events import StopFlag, Stopped

    index = _index(args)
    glossary = _glossary(args.glossary, index)
    options = PrepareOptions(split=args.split, seed=args.seed, ratios=Ratios.parse(args.ratios),
                             min_per_gloss=args.min_per_gloss, keep_rare=args.keep_rare, verify=args.verify)
    output = _JobOutput(args, "prepare", bar=False)
    stop = StopFlag(args.stop_file)
    try:
        meta = prepare_dataset(index, glossary, args.videos, args.out, options, emit=output,
                               should_stop=stop.is_set)
    except Stopped:
        output({"event": "stopped", "reason": stop.reason})
        print(f"signdesk: stopped ({stop.reason}); nothing written", file=sys.stderr)
        return EXIT_STOPPED
    finally:
        output.close()
    counts, dropped = meta["counts"], meta["dropped"]
    if args.json:
        print(json.dumps({k: meta[k] for k in ("counts", "dropped", "duplicates", "split", "content_hash")},
                         indent=2))
        return EXIT_OK
    stream = sys.stderr if args.events == "-" else sys.stdout
    print(f"{args.out}: {counts['clips']:,} clips of {counts['glosses']} glosses — train {counts['train']:,}, "
          f"val {counts['val']:,}, test {counts['test']:,} ({args.split} split)", file=stream)
    print("left out: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in dropped.items()), file=stream)
    if meta["dropped_glosses"]:
        print(f"glosses dropped: {len(meta['dropped_glosses'])} (see dataset.json)", file=stream)
    print(f"content hash {meta['content_hash']}", file=stream)
    return EXIT_OK


def cmd_bench_download(args: argparse.Namespace) -> int:
    from signdesk.data.bench import bench_download
    from signdesk.errors import SignDeskError

    try:
        workers = [int(w) for w in args.workers.split(",")]
    except ValueError:
        raise SignDeskError(f"--workers {args.workers!r}: give worker counts such as 1,4,8") from None
    result = bench_download(workers, clips=args.clips, latency_ms=args.latency_ms)
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(f"{result['clips']} clips of {result['clip_bytes_mean']:,} bytes ({result['size']}, {result['frames']} "
          f"frames), {result['latency_ms']:.0f} ms server latency")
    for r in result["results"]:
        print(f"  {r['workers']:>3} workers: {r['seconds']:7.2f} s  {r['clips_per_s']:7.1f} clips/s  "
              f"{r['mb_per_s']:6.2f} MB/s  x{r['speedup']:.2f}  ({r['ok']} ok)")
    return EXIT_OK


def cmd_bench_prepare(args: argparse.Namespace) -> int:
    from signdesk.data.bench import bench_prepare

    result = bench_prepare(args.wlasl, args.glossary)
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(f"{result['index']}: {result['instances']:,} instances of {result['glossary']}; "
          f"load {result['load_index_s']:.2f} s, synthetic folder {result['setup_s']:.2f} s")
    for method, r in result["methods"].items():
        c = r["counts"]
        print(f"  prepare --split {method:<10} {r['seconds']:6.2f} s  train {c['train']:,} val {c['val']:,} "
              f"test {c['test']:,}  ({r['duplicates_dropped']:,} duplicates dropped)")
    return EXIT_OK
