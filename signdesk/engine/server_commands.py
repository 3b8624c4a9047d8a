"""``signdesk server command`` (the ``vllm serve`` line to run on the GPU server) and ``signdesk bench server``
(what the server backend costs this machine per sign, against the loopback stand-in, model time excluded)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _server_command(args: argparse.Namespace) -> int:
    from signdesk.engine.commands import settings_from_args
    from signdesk.engine.vllm_serve import format_command, serve_command

    settings = settings_from_args(args)
    report = serve_command(settings, args.adapters or [], host=args.host, port=args.port,
                           adapter_root=args.adapter_root)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(format_command(report["args"]))
    adapters = ", ".join(report["adapters"]) or "none"
    print(f"# {report['images_per_prompt']} images per prompt, {report['prompt_tokens']} prompt tokens "
          f"-> --max-model-len {report['max_model_len']}; adapters (served names): {adapters}", file=sys.stderr)
    print("# set VLLM_API_KEY on the server to the key every SignDesk gets through SIGNDESK_API_KEY or its key "
          "file; copy adapter folders to the server (see --adapter-root)", file=sys.stderr)
    return 0


def _serve_stand_in(model: str, key: str, frames: int, queue: Any, stop: Any) -> None:
    """Child process: the stand-in, so its work (and its model) never counts as the client's."""
    from signdesk.engine.vllm_standin import StandIn

    with StandIn(model, api_key=key, image_limit=frames) as stand_in:
        queue.put(stand_in.url)
        stop.wait()


def run_bench_server(args: argparse.Namespace) -> dict[str, Any]:
    """Client-side cost per sign against the stand-in, which runs in another process: the CPU time this
    process spends per sign (encoding, JSON, HTTP, parsing) excludes the stand-in's model by construction."""
    import multiprocessing
    import os
    import tempfile
    import time
    from pathlib import Path

    import numpy as np

    from signdesk.config import load_settings
    from signdesk.engine.loader import open_interpreter

    model = args.model
    if model is None:
        from signdesk.engine.testmodel import make_test_model

        model = str(make_test_model(Path(tempfile.mkdtemp(prefix="signdesk-bench-server-"))))
    key = "bench-key"
    context = multiprocessing.get_context("spawn")
    queue, stop = context.Queue(), context.Event()
    child = context.Process(target=_serve_stand_in, args=(model, key, args.frames, queue, stop), daemon=True)
    child.start()
    try:
        url = queue.get(timeout=300)
        os.environ.setdefault("SIGNDESK_API_KEY", key)
        settings = load_settings({"model.id": model, "backend": "server", "server.url": url,
                                  "frames": args.frames, "mode": args.mode, "glossary": args.glossary,
                                  "server.image_format": args.image_format})
        interpreter = open_interpreter(settings)
        interpreter._frame_size_override = (args.frame_size, args.frame_size)  # the real model's frame size
        size = (args.frame_size, args.frame_size)
        if args.video:
            from signdesk.video.decode import read_clip

            frames = read_clip(args.video, args.frames, size=size).frames
        else:  # a synthetic signer (smooth shapes and a moving hand), as compressible as camera video
            from signdesk.video.decode import sample_frames
            from signdesk.video.synth import motion_frames

            frames = sample_frames(motion_frames("circle", 24, seed=3), args.frames, size)
        interpreter.interpret_frames(frames, presampled=True)  # warm-up
        rows = []
        for _ in range(args.runs):
            requests0 = interpreter.requests_made
            cpu0, wall0 = time.process_time(), time.perf_counter()
            result = interpreter.interpret_frames(frames, presampled=True)
            cpu, wall = (time.process_time() - cpu0) * 1000, (time.perf_counter() - wall0) * 1000
            t = result.timings_ms
            rows.append({"client_cpu_ms": cpu, "encode_ms": t["encode"], "parse_ms": t["parse"],
                         "other_cpu_ms": max(0.0, cpu - t["encode"] - t["parse"]), "wall_ms": wall,
                         "requests": interpreter.requests_made - requests0})
        upload = sum(len(json.dumps(m)) for m in interpreter.prepare_inputs(frames)["messages"]) / 1024
        interpreter.close()
    finally:
        stop.set()
        child.join(10)
        if child.is_alive():
            child.terminate()
    med = {k: round(float(np.median([r[k] for r in rows])), 2) for k in rows[0]}
    return {"frames": args.frames, "frame_size": args.frame_size, "image_format": args.image_format,
            "mode": args.mode, "glossary_size": len(interpreter.glossary or []), "runs": args.runs, "median": med,
            "request_kb": round(upload, 1), "target_ms": 30.0}


def format_bench_server(report: dict[str, Any]) -> str:
    m = report["median"]
    verdict = "within" if m["client_cpu_ms"] <= report["target_ms"] else "over"
    return "\n".join([
        f"server backend, client side: {report['frames']} frames at {report['frame_size']}², {report['image_format']}, "
        f"{report['mode']} mode, {report['glossary_size']} glosses, {report['runs']} signs (medians)",
        f"client CPU per sign {m['client_cpu_ms']:.1f} ms ({verdict} the {report['target_ms']:.0f} ms target): "
        f"encoding {m['encode_ms']:.1f} ms, requests (JSON, HTTP, client library) {m['other_cpu_ms']:.1f} ms, "
        f"parsing {m['parse_ms']:.1f} ms",
        f"{m['requests']:.0f} requests of {report['request_kb']:.0f} KB per sign; the stand-in (another process) "
        f"is not counted; wall time with it on the same cores: {m['wall_ms']:.0f} ms",
    ])


def _bench_server(args: argparse.Namespace) -> int:
    report = run_bench_server(args)
    print(json.dumps(report, indent=2) if args.json else format_bench_server(report))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser("server", help="run the model on a GPU server with vLLM",
                              description="Commands for the server backend (vLLM).")
    ssub = s.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    c = ssub.add_parser("command", help="print the `vllm serve` command for the configured model and adapters",
                        description="Print the exact `vllm serve` command for the configured model and these "
                                    "adapters: LoRA modules and rank, images per prompt, context length, API key.")
    c.add_argument("--model", help="hub id or local model folder (default: settings)")
    c.add_argument("--revision", help="hub revision")
    c.add_argument("--frames", type=int, help="frames per sign (default 8; an adapter's own count is honoured)")
    c.add_argument("--glossary", help="glossary whose longest answer sets the answer budget")
    c.add_argument("--adapter", dest="adapters", action="append", metavar="DIR",
                   help="a LoRA adapter folder to serve (repeatable); served under its folder name")
    c.add_argument("--adapter-root", metavar="DIR",
                   help="where the adapter folders are on the server (default: their paths here)")
    c.add_argument("--host", default="0.0.0.0", help="address vLLM listens on (default 0.0.0.0)")
    c.add_argument("--port", type=int, default=8000)
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=_server_command)

    b = subparsers.add_parser("bench-server", help="client-side cost per sign of the server backend "
                                                   "(also: bench server)")
    b.add_argument("--model", help="model folder for the stand-in (default: the tiny test model, made offline)")
    b.add_argument("video", nargs="?", help="a clip (default: a synthetic signer)")
    b.add_argument("--frames", type=int, default=8)
    b.add_argument("--frame-size", type=int, default=448, help="frame side sent (InternVL3: 448)")
    b.add_argument("--mode", choices=["vocab", "free"], default="vocab")
    b.add_argument("--glossary", default="core-320")
    b.add_argument("--image-format", choices=["jpeg", "png"], default="jpeg")
    b.add_argument("--runs", type=int, default=10)
    b.add_argument("--json", action="store_true")
    b.set_defaults(handler=_bench_server)
