"""Run the real `utanforskap` command in a subprocess, as a user would."""

import os
import subprocess
import sys


def cli(*args, cwd=None, env=None, timeout=300):
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "utanforskap", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout,
    )
