"""`signdesk my-signs import|list|dataset|export` from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from signdesk.cli import main
from signdesk.mysigns.store import TakeStore
from signdesk.video.synth import motion_frames, write_video


def test_import_list_dataset_and_export(tmp_path, capsys):
    folder = tmp_path / "mine"
    files = [write_video(tmp_path / f"g{k}.mp4", motion_frames("circle", 24, 96, 96, still_before=8, still_after=8,
                                                                  seed=k)) for k in range(4)]
    still = write_video(tmp_path / "still.mp4", np.full((30, 96, 96, 3), 70, np.uint8))
    assert main(["my-signs", "import", "grandma", *map(str, files), str(still), "--folder", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.count("imported ") == 4 and f"refused {still}: motionless" in out
    assert main(["my-signs", "list", "--folder", str(folder), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["words"] == [{"word": "grandma", "takes": 4, "target": 10, "train": 2, "val": 1, "test": 1}]
    assert main(["my-signs", "dataset", "--folder", str(folder)]) == 0
    assert "1 glosses, 2 train / 1 val / 1 test clips" in capsys.readouterr().out
    assert (folder / "mixed" / "alone" / "dataset.json").is_file()
    assert main(["my-signs", "export", "--folder", str(folder), "--out", str(tmp_path / "shared")]) == 0
    exported = TakeStore(tmp_path / "shared")
    assert [t.video_id for t in exported.takes()] == [t.video_id for t in TakeStore(folder).takes()]
    assert all(exported.path_of(t).is_file() for t in exported.takes())
    with pytest.raises(SystemExit):  # argparse refuses it, with the reason
        main(["my-signs", "dataset", "--folder", str(folder), "--weight", "none"])
    assert "--weight: must be auto or a whole number" in capsys.readouterr().err
