"""Time from launch to a mapped main window, for `signdesk` from source and for the frozen build.

    xvfb-run -a python tests/tools/measure_startup.py [--frozen dist/SignDesk/SignDesk] [--runs 5]

It starts the app, polls the X server (xwininfo) until a window named "SignDesk" is viewable, then
ends the app. Needs a display (xvfb-run) and xwininfo (Debian x11-utils).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def _window_shown() -> bool:
    out = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
    return any('"SignDesk"' in line for line in out.splitlines())


def launch_to_window(command: list[str], timeout: float = 120.0) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SIGNDESK_HOME": home, "QT_QPA_PLATFORM": "xcb"}
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while time.perf_counter() - started < timeout:
                if _window_shown():
                    return time.perf_counter() - started
                if proc.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited with {proc.returncode} before showing a window")
                time.sleep(0.02)
            raise RuntimeError("no window within the timeout")
        finally:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frozen", help="the frozen executable to time as well")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    commands = {"source": [sys.executable, "-m", "signdesk", "gui"]}
    if args.frozen:
        commands["frozen"] = [args.frozen, "gui"]
    for name, command in commands.items():
        launch_to_window(command)  # warm the file cache
        times = [launch_to_window(command) for _ in range(args.runs)]
        print(f"{name:<7} median {statistics.median(times):.2f} s  (min {min(times):.2f}, max {max(times):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
