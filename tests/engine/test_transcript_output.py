"""Where a transcript goes: `transcribe --srt` checks its target before the model loads; save errors are one line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from signdesk.cli import main
from signdesk.errors import SignDeskError
from signdesk.transcript import SaveError, Transcript


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    from signdesk.video.synth import motion_frames, write_video

    frames = motion_frames("circle", 36, still_before=10, still_after=10, seed=2)
    return write_video(tmp_path_factory.mktemp("video") / "sign.mp4", np.asarray(frames), 25.0)


def transcribe(capsys, video, srt, tiny_model_dir) -> tuple[int, str]:
    code = main(["transcribe", str(video), "--model", str(tiny_model_dir), "--device", "cpu", "--srt", str(srt)])
    return code, capsys.readouterr().err


@pytest.fixture
def no_model_load(monkeypatch):
    """A bad target must be refused before the model loads: loading fails the test."""
    import signdesk.engine.loader as loader

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the --srt target was checked")

    monkeypatch.setattr(loader, "load_model", no_load)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (".", "is a folder; give a file name, e.g. "),
        ("no-such-folder/talk.srt", "the folder {tmp}/no-such-folder does not exist; create it or choose another"),
        ("a-file/talk.srt", "{tmp}/a-file is a file, not a folder; choose another place"),
    ],
)
def test_a_bad_srt_target_is_one_line_before_the_model_loads(capsys, tmp_path, video, tiny_model_dir, target,
                                                            message, no_model_load):
    (tmp_path / "a-file").write_text("not a folder")
    srt = tmp_path / target
    code, err = transcribe(capsys, video, srt, tiny_model_dir)
    assert code == 2
    assert err.startswith("signdesk: error: ") and err.count("\n") == 1, err
    assert message.format(tmp=tmp_path) in err
    assert not (tmp_path / "no-such-folder").exists()  # a mistyped folder is not created


def test_the_srt_cannot_be_the_video_itself(capsys, tmp_path, video, tiny_model_dir):
    import shutil

    own = Path(shutil.copy(video, tmp_path / "sign.mp4"))  # a copy: before the check, the video was overwritten
    code, err = transcribe(capsys, own, own, tiny_model_dir)
    assert code == 2 and "that is the video itself" in err
    assert own.read_bytes() == video.read_bytes()  # untouched


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user for permissions")
def test_an_unwritable_srt_folder_is_one_line(capsys, tmp_path, video, tiny_model_dir):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, err = transcribe(capsys, video, locked / "talk.srt", tiny_model_dir)
    finally:
        locked.chmod(0o700)
    assert code == 2 and "is not writable (permission denied)" in err and err.count("\n") == 1


def test_a_good_srt_target_is_written(capsys, tmp_path, video, tiny_model_dir):
    code, err = transcribe(capsys, video, tmp_path / "talk.srt", tiny_model_dir)
    assert code == 0, err
    assert "-->" in (tmp_path / "talk.srt").read_text()


def _transcript() -> Transcript:
    transcript = Transcript()
    transcript.add("hello", 0.9, [("hello", 0.9)], 0.0, 1.0)
    return transcript


def test_save_errors_are_one_line_signdesk_errors_that_are_still_oserrors(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(SignDeskError) as info:
        _transcript().save(tmp_path / "a-file" / "talk.srt")  # its folder would have to be a file
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'a-file' / 'talk.srt'}: cannot save the transcript (")
    assert message.endswith("); choose another folder or file name") and "\n" not in message
    assert "Errno" not in message
    assert isinstance(info.value, OSError) and info.value.strerror  # what the app's Save dialog shows

    with pytest.raises(SaveError, match="is a folder; give a file name"):
        _transcript().save(tmp_path)
    assert _transcript().save(tmp_path / "new" / "t.txt").read_text() == "hello\n"  # a new folder is still made
