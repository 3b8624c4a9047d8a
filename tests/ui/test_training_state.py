"""The Training tab's Qt-free parts: its saved state, the commands it builds, the index download."""

from __future__ import annotations

import json

import pytest

from signdesk.data.index_download import IndexDownloadError, download_index
from signdesk.data.loopback import LoopbackServer, Route
from signdesk.jobs.events import Stopped
from signdesk.training.wizard_state import (
    CHECKPOINT_MARK,
    PRESETS,
    STEPS,
    TrainSettings,
    WizardState,
    adapter_has_run,
    adapter_resumable,
    download_argv,
    evaluate_argv,
    prepare_argv,
    suggest_adapter_dir,
    train_argv,
    train_history,
    write_train_config,
)


def test_state_round_trips_and_a_damaged_file_falls_back_to_defaults(tmp_path):
    path = tmp_path / "wizard.json"
    state = WizardState(page=4, index_path="/data/WLASL_v0.3.json", glossary="WLASL100", workers=8, host_delay=0.0,
                        split="signer", seed=7, preset="custom", train=TrainSettings(rank=4, learning_rate=1e-3),
                        jobs={"train": "/jobs/x"}, train_runs=["/jobs/w", "/jobs/x"])
    state.save(path)
    again = WizardState.load(path)
    assert again == state

    data = json.loads(path.read_text())
    data.update(page=99, workers="many", split="random", unknown_key=1, jobs={"train": 3, "nope": "/x"},
                train={"rank": "big", "alpha": 8, "epochs": 2})
    path.write_text(json.dumps(data))
    odd = WizardState.load(path)
    assert odd.page == len(STEPS) - 1 and odd.workers == 4 and odd.split == "official" and odd.jobs == {}
    assert odd.train.rank == TrainSettings().rank and odd.train.alpha == 8 and odd.train.epochs == 2.0

    path.write_text("{not json")
    assert WizardState.load(path) == WizardState()
    path.write_text(json.dumps({**state.to_json(), "version": 99}))  # written by a newer SignDesk
    assert WizardState.load(path) == WizardState()
    assert WizardState.load(tmp_path / "missing.json") == WizardState()


def test_every_command_the_wizard_builds_is_accepted_by_the_cli(tmp_path):
    from signdesk.cli import build_parser

    parser = build_parser()
    state = WizardState(index_path=str(tmp_path / "i.json"), glossary=str(tmp_path / "g.txt"), retry_failed=True,
                        split="stratified", seed=3, min_per_gloss=4, adapter_dir=str(tmp_path / "adapter"),
                        compare_base=False, device="cpu", quantize="4bit")
    job_flags = ["--events", "e.jsonl", "--stop-file", "stop"]  # what Job.create adds
    args = parser.parse_args([*download_argv(state), *job_flags])
    assert args.retry_failed and args.workers == 4 and args.host_delay == 0.5 and args.glossary.endswith("g.txt")
    args = parser.parse_args([*prepare_argv(state), *job_flags])
    assert (args.split, args.seed, args.min_per_gloss) == ("stratified", 3, 4)
    args = parser.parse_args([*train_argv(state, "tiny", "v2"), *job_flags])
    assert args.config.name == "adapter.json" and args.revision == "v2" and not args.resume
    args = parser.parse_args([*train_argv(state, "tiny", resume=True), *job_flags])
    assert args.resume and args.config is None
    args = parser.parse_args([*evaluate_argv(state), *job_flags])
    assert args.no_base and args.split == "test" and str(args.out).endswith("eval-test")
    assert "--seed" not in prepare_argv(WizardState(index_path="i", split="official"))


def test_presets_and_the_written_config_are_valid_training_settings(tmp_path):
    from signdesk.training.config import from_dict, load_config

    for name, preset in PRESETS.items():
        config = from_dict(preset.to_config(), name)
        assert config.lora.rank == preset.rank and config.epochs == preset.epochs
    state = WizardState(adapter_dir=str(tmp_path / "a"), train=TrainSettings(targets="attention", max_steps=5),
                        quantize="4bit")
    config = load_config(write_train_config(state))
    assert config.lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (config.max_steps, config.quantize) == (5, "4bit")


def test_the_fine_tune_defaults_are_signdesk_trains_own_and_need_no_heavy_import():
    import subprocess
    import sys
    from dataclasses import replace

    import yaml

    from signdesk import paths
    from signdesk.training.config import TrainConfig, from_dict

    packaged = yaml.safe_load((paths.resources_dir() / "defaults.yaml").read_text(encoding="utf-8"))
    # what the page writes before the user changes anything is exactly `signdesk train`'s defaults
    # (frames: the settings' own, which is what train uses when a config leaves frames out)
    assert from_dict(TrainSettings().to_config(), "wizard") == replace(TrainConfig(), frames=packaged["frames"])
    assert PRESETS["standard"] == TrainSettings() and WizardState().quantize == TrainConfig().quantize
    code = ("import sys, signdesk.training.wizard_state; "
            "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr or out.stdout


def test_adapter_folders_fresh_runs_and_resumable_runs(tmp_path, signdesk_home):
    from signdesk.ui.training_pages.finetune_page import next_free_folder

    folder = tmp_path / "run"
    assert not adapter_has_run(folder) and not adapter_resumable(folder)
    (folder / "checkpoints" / "checkpoint-3").mkdir(parents=True)
    (folder / "train_config.json").write_text("{}")
    assert adapter_has_run(folder) and not adapter_resumable(folder)  # no complete checkpoint yet
    (folder / "checkpoints" / "checkpoint-3" / CHECKPOINT_MARK).write_text("{}")
    assert adapter_resumable(folder)
    assert next_free_folder(folder).name == "run-2"
    first = suggest_adapter_dir("WLASL100", "quick")
    (first / "checkpoints").mkdir(parents=True)
    assert suggest_adapter_dir("WLASL100", "quick").name == f"{first.name}-2"


def test_train_history_keeps_the_later_run_where_a_resume_repeats_steps(tmp_path):
    def job(name, events):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
        return str(folder)

    a = job("a", [{"event": "step", "step": s, "loss": 5.0 - s} for s in (1, 5, 10)]
            + [{"event": "eval", "step": 6, "top1": 0.25}])
    b = job("b", [{"event": "step", "step": s, "loss": 1.0} for s in (8, 12)] + [{"event": "eval", "step": 12,
                                                                                   "top1": 0.5}])
    losses, accuracies = train_history([a, b])
    assert losses == [(1.0, 4.0), (5.0, 0.0), (8.0, 1.0), (12.0, 1.0)]
    assert accuracies == [(6.0, 0.25), (12.0, 0.5)]


# ------------------------------------------------------------------------------------------ the index download


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


def test_the_index_downloads_atomically_with_monotonic_progress(server, tmp_path):
    body = json.dumps([{"gloss": f"g{i}", "instances": []} for i in range(5000)]).encode()
    url = server.add("/WLASL_v0.3.json", Route(body=body, content_type="text/plain; charset=utf-8"))
    seen = []
    result = download_index(tmp_path / "index" / "WLASL_v0.3.json", url, progress=lambda d, t: seen.append((d, t)))
    assert result.path.read_bytes() == body and result.bytes == len(body)
    assert seen[0] == (0, len(body)) and seen[-1] == (len(body), len(body))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert list(result.path.parent.iterdir()) == [result.path]  # no temporary file left


@pytest.mark.parametrize(("route", "message"), [
    (Route(body=b"<html>rate limited</html>", content_type="text/html"), "web page"),
    (Route(body=b'{"not": "a list"}', content_type="application/json"), "not the WLASL index"),
    (Route(body=b"[" + b"1," * 50000 + b"1]", truncate=True), "broke off"),
    (Route(status=404), "HTTP 404"),
])
def test_a_bad_answer_is_one_line_and_leaves_no_file(server, tmp_path, route, message):
    url = server.add("/index.json", route)
    dest = tmp_path / "WLASL_v0.3.json"
    dest.write_text("[]")  # an older copy survives a failed download
    with pytest.raises(IndexDownloadError, match=message) as info:
        download_index(dest, url, timeout=5)
    assert "\n" not in str(info.value)
    assert dest.read_text() == "[]" and [p.name for p in tmp_path.iterdir()] == ["WLASL_v0.3.json"]


def test_the_index_download_stops_when_asked(server, tmp_path):
    url = server.add("/index.json", Route(body=b"[" + b"1," * 200_000 + b"1]", trickle_s=0.001))
    calls = []
    with pytest.raises(Stopped):
        download_index(tmp_path / "i.json", url, progress=lambda d, t: calls.append(d),
                       should_stop=lambda: len(calls) > 2)
    assert list(tmp_path.iterdir()) == []
