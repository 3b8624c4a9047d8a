"""The start-up that must hold in a windowed frozen build: no stdout, HF_HOME first, logs on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_no_stdout_no_crash_logs_in_the_user_log_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SIGNDESK_HOME", "HF_HOME")}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    code = (
        "import sys, os, logging\n"
        "sys.stdout = None; sys.stderr = None  # what a windowed build gets\n"
        "from signdesk import bootstrap, paths\n"
        "bootstrap.prepare()\n"
        "sys.stderr.write('progress bars write here'); sys.stdout.flush()\n"
        "logging.getLogger('signdesk.test').info('hello from the bootstrap test')\n"
        "import multiprocessing\n"
        "assert multiprocessing.get_start_method() == 'spawn'\n"
        "assert 'huggingface_hub' not in sys.modules\n"
        "open(os.environ['RESULT'], 'w').write(os.environ['HF_HOME'] + '\\n' + str(paths.log_dir()))\n"
    )
    result = tmp_path / "result.txt"
    done = run_python(code, {**env, "RESULT": str(result)})
    assert done.returncode == 0, done.stderr
    hf_home, log_dir = result.read_text().splitlines()
    assert hf_home.startswith(str(tmp_path / "cache"))  # SignDesk's cache, set before any hub import
    assert "hello from the bootstrap test" in Path(log_dir, "signdesk.log").read_text()


def test_a_users_hf_home_is_kept(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SIGNDESK_HOME"}
    env["HF_HOME"] = str(tmp_path / "mine")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    code = "from signdesk import bootstrap; bootstrap.prepare(); import os; print(os.environ['HF_HOME'])"
    done = run_python(code, env)
    assert done.returncode == 0 and done.stdout.strip() == str(tmp_path / "mine")
