"""`PARLEY_REPORT_FIRST_PAINT` (benchmarks/startup.py, #17): the app says when its first frame is painted and then
when the chat input is on screen and takes typing, then when a key typed at that moment shows in it, in that order,
and quits on its own when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_the_app_reports_when_the_chat_input_takes_typing(parley_home):
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PARLEY_HOME=str(parley_home),
        PARLEY_REPORT_FIRST_PAINT="1",
        PARLEY_QUIT_AFTER_PAINT="100",
    )
    out = subprocess.run(
        [sys.executable, "-m", "app", "--demo"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    painted = next(x["first_paint"] for x in lines if "first_paint" in x)
    ready = next(x["ready_to_type"] for x in lines if "ready_to_type" in x)
    echoed = next(x["typed_echo"] for x in lines if "typed_echo" in x)
    assert painted <= ready <= echoed
