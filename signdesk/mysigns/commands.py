"""``signdesk record`` and ``signdesk my-signs list|delete|import|dataset|export``.

``record WORD`` watches a camera (or a video file played once, as a camera) and keeps the next N signs
the live segmenter finds as takes of WORD, saying for each one refused why (one line). The takes
folder defaults to the user data folder's ``my-signs``; ``--out DIR`` (``--folder`` for my-signs)
names another.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from signdesk.errors import SignDeskError


def _store(folder: Path | None):
    from signdesk.mysigns.store import TakeStore

    return TakeStore(folder)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _weight(text: str) -> int | str:
    if text == "auto":
        return text
    value = int(text) if text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError("must be auto or a whole number of 1 or more")
    return value


def run_record(args: argparse.Namespace) -> int:
    from signdesk.mysigns.recorder import TakeRecorder, keep_candidate
    from signdesk.mysigns.store import normalize_word
    from signdesk.video.camera import OpenCVCamera, VideoFileSource

    word = normalize_word(args.word)
    store = _store(args.out)
    store.signer = args.signer
    if args.camera_file:
        from signdesk.video.decode import probe_video

        probe_video(args.camera_file)  # a missing or damaged file fails here, in one line

        def factory():
            return VideoFileSource(args.camera_file, loop=False)
    else:
        def factory():
            return OpenCVCamera(args.camera)

    def on_event(event) -> None:
        if event.state in {"retrying", "failed"} or args.verbose:
            print(f"signdesk: camera {event.state}: {event.message}".rstrip(": "), file=sys.stderr, flush=True)

    recorder = TakeRecorder(factory, sensitivity=args.sensitivity, on_event=on_event)
    before = len(store.takes(word))
    print(f"Recording {args.takes} take(s) of {word!r} into {store.folder}: sign the word, then rest your hands "
          "(Ctrl+C ends).", file=sys.stderr, flush=True)
    kept = refused = 0
    recorder.start()
    try:
        while kept < args.takes and not recorder.done:
            candidate = recorder.get(0.2)
            if candidate is None:
                continue
            if candidate.repeat:
                continue
            if candidate.reason:
                refused += 1
                print(f"refused: {candidate.reason}", flush=True)
                continue
            take = keep_candidate(store, word, candidate)
            kept += 1
            print(f"kept take {kept}/{args.takes} of {word!r}: {take.duration_s:.1f} s, stream frames "
                  f"{take.stream_start}-{take.stream_end}, {take.split} ({take.video_id})", flush=True)
    except KeyboardInterrupt:
        print("signdesk: recording stopped", file=sys.stderr)
    finally:
        recorder.stop()
    if recorder.failure:
        raise SignDeskError(recorder.failure)
    total = before + kept
    print(f"{word!r}: {total} take(s) in all (target {store.target}); {kept} kept now, {refused} refused",
          file=sys.stderr)
    return 0 if kept or args.takes == 0 else 1


def _list(args: argparse.Namespace) -> int:
    store = _store(args.folder)
    takes = store.takes(args.word) if args.word else store.takes()
    if args.json:
        print(json.dumps({"folder": str(store.folder), "takes": [t.to_json() for t in takes],
                          "words": [{"word": c.word, "takes": c.takes, "target": c.target, **c.splits}
                                    for c in store.counts()]}, indent=2, ensure_ascii=False))
        return 0
    if not takes:
        print(f"no takes in {store.folder}")
        return 0
    for count in store.counts():
        if args.word and count.word != takes[0].gloss:
            continue
        print(f"{count.word}: {count.takes}/{count.target} takes "
              f"(train {count.splits['train']}, val {count.splits['val']}, test {count.splits['test']})")
        for take in (t for t in takes if t.gloss == count.word):
            print(f"  {take.video_id}  {take.duration_s:.1f} s  {take.split:<5}  {take.origin}  {take.created}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    store = _store(args.folder)
    if args.all:
        gone = store.delete_all()
    elif args.word:
        gone = store.delete_word(args.word)
    elif args.ids:
        gone = store.delete(args.ids)
    else:
        raise SignDeskError("say what to delete: take ids (signdesk my-signs list), --word WORD or --all")
    print(f"deleted {len(gone)} take(s) and their clips from {store.folder}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from signdesk.mysigns.checks import TakeRefused
    from signdesk.mysigns.recorder import import_video

    store = _store(args.folder)
    failed = 0
    for path in args.files:
        try:
            take = import_video(store, args.word, path, sensitivity=args.sensitivity)
        except TakeRefused as exc:
            failed += 1
            print(f"refused {path}: {exc.reason}")
            continue
        print(f"imported {path} as {take.video_id} ({take.duration_s:.1f} s, frames "
              f"{take.stream_start + 1}-{take.stream_end + 1} of the file, {take.split})")
    return 1 if failed == len(args.files) else 0


def _dataset(args: argparse.Namespace) -> int:
    from signdesk.mysigns.training import build_training_set, default_out

    store = _store(args.folder)
    out = args.out or default_out(store, args.mix)
    meta = build_training_set(store, out, mix=args.mix, weight=args.weight)
    mine = meta["my_signs"]
    counts = meta["counts"]
    print(f"wrote {out}: {counts['glosses']} glosses, {counts['train']} train / {counts['val']} val / "
          f"{counts['test']} test clips; my signs: {len(mine['words'])} words, {mine['takes']['train']} training "
          f"takes x {mine['weight']}")
    print(f"train on it: signdesk train --dataset {out} --out ADAPTER")
    return 0


def _export(args: argparse.Namespace) -> int:
    import shutil

    from signdesk.atomicio import atomic_write_jsonl
    from signdesk.mysigns.store import CLIPS_DIR, TAKES_FILE, TakeStore

    store = _store(args.folder)
    takes = store.takes(args.word) if args.word else store.takes()
    if not takes:
        raise SignDeskError("no takes to export")
    out = Path(args.out).expanduser().absolute()
    if out.resolve() == store.folder.resolve():
        raise SignDeskError("export into another folder than the takes folder")
    (out / CLIPS_DIR).mkdir(parents=True, exist_ok=True)
    for take in takes:  # files first, then the manifest: the store's own crash-safe order
        shutil.copyfile(store.path_of(take), out / take.video)
    atomic_write_jsonl(out / TAKES_FILE, [t.to_json() for t in takes])
    TakeStore(out).sync()
    print(f"exported {len(takes)} take(s) with their clips to {out}: anyone you give this folder sees your signing")
    return 0


def register(subparsers: Any) -> None:
    r = subparsers.add_parser(
        "record", help="record takes of one of your own signs at the camera",
        description="Watch a camera (or a video file played once as a camera) and keep the next N signs found "
                    "as takes of WORD, in the takes folder (default: the user data folder's my-signs). A take that "
                    "is too short, too long or motionless is refused with the reason.")
    r.add_argument("word", metavar="WORD", help="the word the sign means")
    r.add_argument("--out", type=Path, metavar="DIR", help="takes folder (default: the user data folder's my-signs)")
    source = r.add_mutually_exclusive_group()
    source.add_argument("--camera", type=int, default=0, metavar="N", help="camera number (default 0)")
    source.add_argument("--camera-file", metavar="VIDEO", help="play this video file once, as the camera")
    r.add_argument("--takes", type=_positive, default=1, metavar="N", help="takes to keep (default 1)")
    r.add_argument("--sensitivity", type=float, default=5.0, metavar="S", help="1–10: how little motion starts a sign")
    r.add_argument("--signer", type=int, default=0, metavar="ID", help="signer id of the takes (default 0)")
    r.set_defaults(handler=run_record)

    m = subparsers.add_parser(
        "my-signs", help="list, delete, import, export your own signs' takes; build training sets from them",
        description="Your takes stay in the user data folder (or --folder) and are never uploaded anywhere.")
    sub = m.add_subparsers(dest="my_signs_command", metavar="ACTION", required=True)

    def add(name: str, help_text: str):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--folder", type=Path, metavar="DIR",
                       help="takes folder (default: the user data folder's my-signs)")
        return p

    p = add("list", "the takes per word (count against the target, splits) and each take")
    p.add_argument("--word", help="only this word's takes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)
    p = add("delete", "delete takes (their clips and rows): by id, a whole word, or all")
    p.add_argument("ids", nargs="*", metavar="TAKE", help="take ids, as `signdesk my-signs list` shows them")
    p.add_argument("--word", help="every take of this word")
    p.add_argument("--all", action="store_true", help="every take")
    p.set_defaults(handler=_delete)
    p = add("import", "import video files as takes of WORD (the sign is cut out of each, as at the camera)")
    p.add_argument("word", metavar="WORD")
    p.add_argument("files", nargs="+", metavar="VIDEO")
    p.add_argument("--sensitivity", type=float, default=5.0, metavar="S")
    p.set_defaults(handler=_import)
    p = add("dataset", "write a training set of your takes, alone or mixed with a prepared dataset")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="dataset folder (default: the takes folder's mixed/alone or mixed/with-NAME)")
    p.add_argument("--mix", type=Path, metavar="DATASET", help="a prepared dataset (signdesk data prepare) to mix in")
    p.add_argument("--weight", default="auto", type=_weight, metavar="N|auto",
                   help="copies of each training take when mixing (auto: as many examples per word as the "
                        "dataset's median gloss has, 1 to 10)")
    p.set_defaults(handler=_dataset)
    p = add("export", "copy takes and their clips to another folder (to share them: only ever on purpose)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--word", help="only this word's takes")
    p.set_defaults(handler=_export)
