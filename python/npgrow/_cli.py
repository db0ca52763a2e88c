"""Finding and running the npgrow binary (the C code does all the physics; Python drives it)."""

import os
import shutil
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))


class NpgrowError(RuntimeError):
    """The npgrow binary failed; .returncode is its exit status (1 run, 2 bad input, 130 SIGINT)."""

    def __init__(self, message, returncode=1):
        super().__init__(message)
        self.returncode = returncode


def binary():
    """Path of the npgrow CLI: $NPGROW_BIN, else the repository's build/, else PATH."""
    env = os.environ.get("NPGROW_BIN")
    if env:
        if not os.access(env, os.X_OK):
            raise NpgrowError(f"NPGROW_BIN={env}: not an executable file", 2)
        return env
    for rel in ("build/npgrow", "build/host/npgrow"):
        p = os.path.join(_REPO, rel)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which("npgrow")
    if p:
        return p
    raise NpgrowError(
        "npgrow binary not found: build it (cmake -S . -B build && cmake --build build) "
        "or set NPGROW_BIN", 2)


def call(args, stream=True):
    """Run `npgrow ARGS`. stream: pass its stderr (progress, warnings) through to sys.stderr as it
    comes. Returns stdout (str); raises NpgrowError with the last stderr lines on failure."""
    proc = subprocess.Popen([binary()] + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1)
    tail = []
    out_chunks = []
    # stderr line by line (progress is one line per few seconds when not on a terminal)
    import threading

    def pump_out():
        out_chunks.append(proc.stdout.read())

    t = threading.Thread(target=pump_out, daemon=True)
    t.start()
    for line in proc.stderr:
        tail = (tail + [line])[-20:]
        if stream:
            sys.stderr.write(line)
            sys.stderr.flush()
    t.join()
    rc = proc.wait()
    if rc != 0:
        msg = "".join(tail).strip() or f"npgrow {args[0]} exited {rc}"
        raise NpgrowError(msg, rc)
    return "".join(out_chunks)
