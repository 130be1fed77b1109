"""How the package runs nasx: the `nasx` executable (and its `nasx-worker`) installed inside this
package, one subprocess per call. The Python process never loads nasx's LibTorch: whatever
PyTorch the user has imported (Debian's 1.13, or 2.x from PyPI) is the only one in it."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from typing import Callable, List, Optional, Sequence


class Error(ValueError):
    """A bad input or a failed nasx command: the message is nasx's own."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def executable() -> str:
    """The nasx executable this package carries (NASX_EXECUTABLE overrides it, for development)."""
    env = os.environ.get("NASX_EXECUTABLE")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise Error(f"NASX_EXECUTABLE={env} is not an executable file")
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "nasx")
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    raise Error(f"this nasx package has no engine at {here}: reinstall it with `pip install .`")


# What nasx says on standard error: "nasx: TEXT" (progress) and "nasx [warn] TEXT" (its log).
_SAID = re.compile(r"^nasx(?::| \[\w+\]) (.*)$")


def _error_text(stderr_lines: Sequence[str]) -> str:
    """The last `nasx: error: ...` line (the message a user reads), else the last lines."""
    errors = [l for l in stderr_lines if l.startswith("nasx: error:")]
    if errors:
        return errors[-1][len("nasx: error: "):].strip()
    tail = [l for l in stderr_lines if l.strip()][-3:]
    return "\n".join(tail) or "nasx failed with no message"


def run(args: Sequence[str], progress: Optional[Callable[[str], None]] = None,
        cwd: Optional[str] = None) -> str:
    """Runs `nasx ARGS` and returns its standard output. Standard error is read as it comes
    (each progress line goes to `progress`); a non-zero exit raises Error with nasx's message.
    Ctrl-C is passed on to nasx (which keeps its journal, as on the command line) and then
    raised here as KeyboardInterrupt. The GIL is free while nasx runs."""
    cmd = [executable(), *map(str, args)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=cwd, start_new_session=True)
    lines: List[str] = []

    def read_stderr():
        for line in p.stderr:
            line = line.rstrip("\n")
            lines.append(line)
            m = _SAID.match(line)
            if progress is not None and m and not line.startswith("nasx: error:"):
                progress(m.group(1))

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    out = []
    try:
        out.append(p.stdout.read())
        p.wait()
    except KeyboardInterrupt:
        p.send_signal(signal.SIGINT)  # nasx journals what it has and exits
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
        raise
    reader.join()
    if p.returncode != 0:
        if p.returncode == 130 or p.returncode == -signal.SIGINT:
            raise KeyboardInterrupt
        raise Error(_error_text(lines), p.returncode)
    return "".join(out)


def run_json(args: Sequence[str], progress: Optional[Callable[[str], None]] = None) -> dict:
    text = run([*args, "--json"], progress)
    try:
        return json.loads(text)
    except ValueError as e:
        raise Error(f"nasx {' '.join(map(str, args))} printed no JSON: {e}") from None


_COUNT = re.compile(r"\b(\d+)/(\d+)\b")


class Progress:
    """One status line that nasx's progress messages overwrite (a terminal or a notebook)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and (sys.stderr.isatty() or "ipykernel" in sys.modules)
        self.width = shutil.get_terminal_size((100, 20)).columns - 1
        self.shown = False

    def __call__(self, line: str) -> None:
        if not self.enabled:
            return
        m = _COUNT.search(line)  # "explore coarse 14/80, ..." -> a bar of 14/80
        if m and int(m.group(2)) > 0:
            done = min(1.0, int(m.group(1)) / int(m.group(2)))
            line = "[" + "#" * int(20 * done) + "." * (20 - int(20 * done)) + "] " + line
        sys.stderr.write("\r" + line[: self.width].ljust(self.width))
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
