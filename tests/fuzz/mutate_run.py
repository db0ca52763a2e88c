#!/usr/bin/env python3
"""mutate_run.py: mutation test of `npgrow run` (issue 9): hundreds of mutated configs, each
under a wall-clock and a memory limit, must give 0 crashes and 0 hangs.

Mutants come from configs/*.yaml, deterministic from --seed (mutant i depends only on the seed
and i, so `--only i` reproduces one): numbers scaled by 10^k, negated, zeroed, replaced by NaN,
infinities, huge integers or other types; keys deleted, duplicated, renamed; files truncated;
invalid UTF-8, BOMs, NUL bytes, deep nesting and alias bombs inserted; and abusive command lines
(--t-end 1e300, --particles 4e9, output paths that are files or too long). The configs in
tests/fuzz/corpus/run/ (past findings; a first line `# args: ...` replaces the default
arguments) run first, unchanged, every time.

Each runs `npgrow run MUTANT --particles 2000 --threads 1 -o OUT --force --quiet` (no
--particles when the particles key is the mutated one) with --wall seconds and --mem-mb of
memory: RLIMIT_AS (prlimit) for a plain build; for an AddressSanitizer build (which needs a huge address
space) the sanitizer's own limits instead (allocations above the limit return NULL, as under
RLIMIT_AS; an RSS beyond 1.5x the limit is a finding). Outcomes:
  ok        exit 0, 1, 2 or 3 (2 = bad input, which most mutants are)
  stopped   still running at the limit, SIGTERM, exited 143 within --grace seconds and left no
            OUT.tmp-* directory
  crash     killed by any other signal, a sanitizer report, an exit status outside
            {0, 1, 2, 3, 130, 143}
  hang      still running --grace seconds after SIGTERM (then SIGKILL), or died of the
            SIGTERM without handling it, or left OUT.tmp-* behind
  limit     exceeded the file-size limit (--fsize-mb, SIGXFSZ) or the sanitizer's RSS limit
Any crash, hang or limit fails the test (exit 1); the mutants that did are copied to --keep
with a note of the command and the outcome, ready for tests/fuzz/corpus/run/.

It does not judge the results of runs that complete; the other tests do.
"""
import argparse
import concurrent.futures
import glob
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

NUM = re.compile(rb"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
KEY = re.compile(rb"([A-Za-z_][A-Za-z0-9_]*)(\s*:)")
SPECIAL = [b"0", b"-0", b"-1", b"1", b".nan", b".inf", b"-.inf", b"nan", b"inf", b"1e308",
           b"1e309", b"-1e308", b"5e-324", b"2e-7", b"4294967295", b"4294967296",
           b"18446744073709551616", b"-9223372036854775809", b"0x7fffffff", b"1_000", b"0o17",
           b"1e", b".", b"+", b'""', b"~", b"null", b"true", b"[1, 2]", b"{a: 1}", b'"3"',
           b"!!str 5", b"&x 1", b"*x", b"3 # comment", b"'1e300'"]
SCALES = [-300, -30, -12, -6, -3, -1, 1, 3, 6, 12, 30, 300]
BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00",
             b"\xef\xbb\xbf", b"\t", b"\r", b"\x1b[31m", b"\xc2\x85", b"\xe2\x80\xa8"]


def code_spans(text):
    """(line start, line end) of each line, without its comment, that holds a key or a value."""
    spans, pos = [], 0
    for line in text.split(b"\n"):
        body = line.split(b"#", 1)[0]
        if body.strip():
            spans.append((pos, pos + len(body)))
        pos += len(line) + 1
    return spans


def line_of(text, at):
    start = text.rfind(b"\n", 0, at) + 1
    end = text.find(b"\n", at)
    return text[start:end if end >= 0 else len(text)]


def numbers(text):
    out = []
    for a, b in code_spans(text):
        out += [(m.start(), m.end()) for m in NUM.finditer(text, a, b)]
    return out


def keys(text):
    out = []
    for a, b in code_spans(text):
        out += [(m.start(1), m.end(1)) for m in KEY.finditer(text, a, b)]
    return out


def fmt_scaled(tok, k):
    try:
        x = float(tok) * 10.0 ** k
    except (ValueError, OverflowError):
        return tok + b"e%d" % k
    return repr(x).encode()


def mutate(text, rnd):
    """One mutant of config text: (bytes, label, touched line or b'', extra args, flags)."""
    args, flags = [], set()
    op = rnd.choice(["scale", "scale", "scale", "special", "special", "special", "negate",
                     "multi", "delete", "duplicate", "rename", "retype", "truncate", "bytes",
                     "bytes", "nest", "aliases", "long", "cli", "cli", "outdir"])
    nums, ks = numbers(text), keys(text)
    if op in ("scale", "special", "negate") and nums:
        a, b = rnd.choice(nums)
        tok = text[a:b]
        if op == "scale":
            k = rnd.choice(SCALES)
            new, label = fmt_scaled(tok, k), "scale %s by 1e%d" % (tok.decode(), k)
        elif op == "special":
            new = rnd.choice(SPECIAL)
            label = "replace %s by %s" % (tok.decode(), new.decode())
        else:
            new = tok[1:] if tok.startswith(b"-") else b"-" + tok
            label = "negate %s" % tok.decode()
        touched = line_of(text, a)
        return text[:a] + new + text[b:], "%s (line '%s')" % (label, touched.decode(
            "utf-8", "replace").strip()), touched, args, flags
    if op == "multi" and nums:
        picks = sorted(rnd.sample(nums, min(len(nums), rnd.randint(2, 4))), reverse=True)
        touched, parts = b"", []
        for a, b in picks:
            new = rnd.choice([fmt_scaled(text[a:b], rnd.choice(SCALES)), rnd.choice(SPECIAL)])
            parts.append("%s->%s" % (text[a:b].decode(), new.decode()))
            touched += line_of(text, a) + b"\n"
            text = text[:a] + new + text[b:]
        return text, "multi: " + ", ".join(parts), touched, args, flags
    lines = text.split(b"\n")
    code = [i for i, l in enumerate(lines) if l.split(b"#", 1)[0].strip()]
    if op == "delete" and code:
        i = rnd.choice(code)
        label = "delete line %d '%s'" % (i + 1, lines[i].decode("utf-8", "replace").strip())
        touched = lines[i]
        del lines[i]
        return b"\n".join(lines), label, touched, args, flags
    if op == "duplicate" and code:
        i = rnd.choice(code)
        lines.insert(i + 1, lines[i])
        return b"\n".join(lines), "duplicate line %d '%s'" % (
            i + 1, lines[i].decode("utf-8", "replace").strip()), lines[i], args, flags
    if op == "rename" and ks:
        a, b = rnd.choice(ks)
        key = text[a:b]
        new = rnd.choice([key + b"x", key.upper(), key[:-1], b"", b"-" + key, b"? " + key])
        return text[:a] + new + text[b:], "rename key %s to %s" % (
            key.decode(), new.decode()), line_of(text, a), args, flags
    if op == "retype" and ks:
        a, b = rnd.choice(ks)
        end = text.find(b"\n", b)
        end = len(text) if end < 0 else end
        value = rnd.choice([b" [1, 2, 3]", b" {x: 1}", b" text", b"", b" ''", b" [[[]]]",
                            b" !!binary aGVsbG8=", b" {particles: 1e300}", b" - 1"])
        return text[:b + 1] + value + text[end:], "value of %s -> %s" % (
            text[a:b].decode(), value.decode().strip() or "(empty)"), line_of(text, a), args, flags
    if op == "truncate":
        at = rnd.randrange(len(text))
        return text[:at], "truncate at byte %d of %d" % (at, len(text)), b"", args, flags
    if op == "bytes":
        bad = rnd.choice(BAD_BYTES)
        at = 0 if rnd.random() < 0.25 else rnd.randrange(len(text))
        return text[:at] + bad + text[at:], "insert %r at byte %d" % (bad, at), b"", args, flags
    if op == "nest":
        depth = rnd.choice([100, 1000, 10000, 100000])
        a, b = rnd.choice(nums) if nums else (len(text), len(text))
        bomb = b"[" * depth + b"]" * depth if rnd.random() < 0.5 else b"{a: " * depth + b"}" * depth
        return text[:a] + bomb + text[b:], "nesting depth %d" % depth, line_of(text, a), args, flags
    if op == "aliases":
        bomb = b"".join(b"l%d: &l%d [%s]\n" % (i, i, b", ".join([b"*l%d" % (i - 1)] * 9) if i
                                                      else b"x, x, x, x, x, x, x, x, x")
                        for i in range(9))
        return bomb + text, "billion-laughs aliases before the config", b"", args, flags
    if op == "long":
        n = rnd.choice([10**4, 10**6, 10**7])
        where = rnd.choice(["comment", "name", "key"])
        if where == "comment":
            return text + b"#" + b"x" * n + b"\n", "comment of %d bytes" % n, b"", args, flags
        if where == "name":
            return re.sub(rb"(?m)^(\s*name:).*$", lambda m: m.group(1) + b" " + b"n" * n, text,
                          count=1), "name of %d bytes" % n, b"", args, flags
        return text + b"k" * n + b": 1\n", "key of %d bytes" % n, b"", args, flags
    if op == "cli":
        args = rnd.choice([["--t-end", "1e300"], ["--t-end", "1e-300"], ["--t-end", "1e9"],
                           ["--particles", "4000000000"], ["--particles", "1"],
                           ["--particles", "100000000"], ["--seed", "4294967295"],
                           ["--threads", "1024"], ["--backend", "cuda"], ["--backend", "auto"],
                           ["--device", "1024"], ["--t-end", "nan"], ["--t-end", "-1"],
                           ["--particles", "0"], ["--particles", "4000000001"],
                           ["--t-end", "1e300", "--particles", "4000000000"]])
        if "--particles" in args:
            flags.add("own-particles")
        return text, "command line " + " ".join(args), b"", args, flags
    # op == "outdir": the output path abused (always inside this mutant's scratch directory)
    flags.add(rnd.choice(["out-is-file", "out-under-file", "out-long", "out-newline",
                          "out-nonempty-no-force", "out-deep", "out-empty-string"]))
    return text, "output path: " + next(iter(flags)), b"", args, flags


def make_mutant(base_text, seed, i):
    rnd = random.Random("%s:%d" % (seed, i))
    text, label, touched, args, flags = mutate(base_text, rnd)
    if re.search(rb"\bparticles\s*:", touched):
        flags.add("own-particles")
    return text, label, args, flags


def is_asan(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def run_one(job, opt):
    """Run one mutant; returns a dict with its outcome."""
    scratch = tempfile.mkdtemp(prefix="m%04d-" % job["index"] if job["index"] >= 0 else "r-",
                               dir=opt.workdir)
    for c in glob.glob(os.path.join(ROOT, "configs", "*.yaml")):
        os.symlink(c, os.path.join(scratch, os.path.basename(c)))
    cfg = os.path.join(scratch, "mutant.yaml")
    with open(cfg, "wb") as f:
        f.write(job["text"])
    out = os.path.join(scratch, "out")
    flags, force = job["flags"], ["--force"]
    if "out-is-file" in flags:
        open(out, "w").close()
    elif "out-under-file" in flags:
        open(out, "w").close()
        out = os.path.join(out, "sub")
    elif "out-long" in flags:
        out = os.path.join(scratch, "d" * 200, "e" * 255, "f" * 4000)
    elif "out-newline" in flags:
        out = os.path.join(scratch, "out\nput")
    elif "out-nonempty-no-force" in flags:
        os.mkdir(out)
        open(os.path.join(out, "keep.txt"), "w").close()
        force = []
    elif "out-deep" in flags:
        out = os.path.join(scratch, *(["d"] * 300))
    elif "out-empty-string" in flags:
        out = ""
    if job.get("argv") is not None:
        argv = [opt.npgrow, "run", job["path"]] + job["argv"] + ["-o", out, "--quiet"]
    else:
        argv = [opt.npgrow, "run", cfg, "--threads", "1", "-o", out, "--quiet"] + force
        if "own-particles" not in flags:
            argv += ["--particles", str(opt.particles)]
        argv += job["args"]
    env = dict(os.environ)
    if opt.asan:
        env["ASAN_OPTIONS"] = ("detect_leaks=1:allocator_may_return_null=1:"
                               "max_allocation_size_mb=%d:soft_rss_limit_mb=%d:"
                               "hard_rss_limit_mb=%d:exitcode=86" %
                               (opt.mem_mb, opt.mem_mb, opt.mem_mb * 3 // 2))
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=86"

    # prlimit sets the limits and execs npgrow (same pid: SIGTERM reaches npgrow itself);
    # preexec_fn would not be safe with the worker threads.
    limits = ["prlimit", "--fsize=%d" % (opt.fsize_mb << 20), "--core=0"]
    if not opt.asan:
        limits.append("--as=%d" % (opt.mem_mb << 20))
    limits.append("--")

    errpath = os.path.join(scratch, "stderr.txt")
    t0 = time.monotonic()
    with open(errpath, "wb") as err:
        p = subprocess.Popen(limits + argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err, cwd=scratch, env=env)
        termed = False
        try:
            rc = p.wait(timeout=opt.wall)
        except subprocess.TimeoutExpired:
            termed = True
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=opt.grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = None
    wall = time.monotonic() - t0
    with open(errpath, "rb") as f:
        stderr = f.read()
    leftovers = glob.glob(glob.escape(out) + ".tmp-*") if out else []
    sanitizer = re.search(rb"ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer:DEADLYSIGNAL",
                          stderr)
    if sanitizer:
        kind, why = "crash", "sanitizer report"
    elif rc is None:
        kind, why = "hang", "alive %.0f s after SIGTERM (killed)" % opt.grace
    elif termed and rc == -signal.SIGTERM:
        kind, why = "hang", "died of SIGTERM without handling it"
    elif termed and rc == 143:
        kind, why = ("hang", "left %s" % leftovers[0]) if leftovers else ("stopped", "")
    elif rc == -signal.SIGXFSZ:
        kind, why = "limit", "file-size limit %d MB" % opt.fsize_mb
    elif rc < 0:
        kind, why = "crash", "signal %s" % signal.Signals(-rc).name
    elif rc not in (0, 1, 2, 3, 130, 143):
        kind, why = ("limit", "RSS limit") if b"rss_limit" in stderr else ("crash", "exit %d" % rc)
    elif leftovers:
        kind, why = "hang", "exit %d left %s" % (rc, leftovers[0])
    else:
        kind, why = "ok", ""
    result = dict(job, rc=rc, kind=kind, why=why, wall=wall, argv=argv,
                  stderr=stderr[-1500:].decode("utf-8", "replace"))
    if kind not in ("ok", "stopped") and opt.keep:
        os.makedirs(opt.keep, exist_ok=True)
        name = "%s-%s" % (kind, job["name"])
        shutil.copyfile(cfg if job.get("argv") is None else job["path"],
                        os.path.join(opt.keep, name + ".yaml"))
        with open(os.path.join(opt.keep, name + ".txt"), "w") as f:
            f.write("%s\n%s\nexit %s: %s (%.1f s)\n\n%s\n" % (job["label"], " ".join(
                repr(a) if any(c.isspace() for c in a) else a for a in argv), rc, why, wall,
                result["stderr"]))
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--npgrow", required=True, help="the npgrow binary")
    ap.add_argument("--count", type=int, default=400, help="mutants (default 400)")
    ap.add_argument("--budget", type=float, default=0,
                    help="stop starting mutants after this many seconds (0: no limit)")
    ap.add_argument("--seed", default="1", help="mutation seed (default 1)")
    ap.add_argument("--only", type=int, action="append", help="run only mutant I (repeatable)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--wall", type=float, default=5.0, help="seconds before SIGTERM (5)")
    ap.add_argument("--grace", type=float, default=3.0, help="seconds to exit after it (3)")
    ap.add_argument("--mem-mb", type=int, default=4096, help="memory limit (4096)")
    ap.add_argument("--fsize-mb", type=int, default=1024, help="largest file written (1024)")
    ap.add_argument("--particles", type=int, default=2000)
    ap.add_argument("--keep", default=os.path.join(ROOT, "build", "mutate-run"),
                    help="where failing mutants are copied")
    ap.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per mutant")
    opt = ap.parse_args()
    opt.npgrow = os.path.abspath(opt.npgrow)
    opt.asan = is_asan(opt.npgrow)

    bases = sorted(glob.glob(os.path.join(ROOT, "configs", "*.yaml")))
    texts = {b: open(b, "rb").read() for b in bases}
    jobs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz", "corpus", "run", "*.yaml"))):
        text = open(path, "rb").read()
        first = text.split(b"\n", 1)[0]
        argv = (first[len(b"# args:"):].decode().split() if first.startswith(b"# args:")
                else ["--particles", str(opt.particles), "--force", "--threads", "1"])
        jobs.append(dict(index=-1, name=os.path.basename(path)[:-5], path=path, argv=argv,
                         text=text, flags=set(), args=[],
                         label="regression %s %s" % (os.path.basename(path), " ".join(argv))))
    indices = opt.only if opt.only else range(opt.count)
    for i in indices:
        base = bases[i % len(bases)]
        text, label, args, flags = make_mutant(texts[base], opt.seed, i)
        jobs.append(dict(index=i, name="%04d-%s" % (i, os.path.basename(base)[:-5]), text=text,
                         args=args, flags=flags,
                         label="mutant %d of %s: %s" % (i, os.path.basename(base), label)))
    if opt.list:
        for j in jobs:
            print(j["label"], sorted(j["flags"]) or "")
        return 0

    opt.workdir = tempfile.mkdtemp(prefix="npgrow-mutate-")
    t0 = time.monotonic()
    results, lock = [], threading.Lock()
    skipped = 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=opt.jobs) as pool:
            def task(j):
                if opt.budget and time.monotonic() - t0 > opt.budget and j["index"] >= 0:
                    return None
                r = run_one(j, opt)
                if opt.verbose or r["kind"] not in ("ok", "stopped"):
                    with lock:
                        print("%-7s exit %-4s %5.1f s  %s%s" % (
                            r["kind"], r["rc"], r["wall"], r["label"][:150],
                            "  [" + r["why"] + "]" if r["why"] else ""), flush=True)
                return r
            for r in pool.map(task, jobs):
                if r is None:
                    skipped += 1
                else:
                    results.append(r)
    finally:
        shutil.rmtree(opt.workdir, ignore_errors=True)

    by_kind, by_rc = {}, {}
    for r in results:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + 1
        key = "killed" if r["rc"] is None else str(r["rc"])
        by_rc[key] = by_rc.get(key, 0) + 1
    bad = [r for r in results if r["kind"] not in ("ok", "stopped")]
    mutants = sum(1 for r in results if r["index"] >= 0)
    print("mutate_run: %d mutants + %d regression configs in %.0f s (%s%s, seed %s, "
          "wall %.0f s, memory %d MB%s)" % (
              mutants, len(results) - mutants, time.monotonic() - t0,
              os.path.relpath(opt.npgrow, ROOT), " ASan" if opt.asan else "", opt.seed,
              opt.wall, opt.mem_mb, ", %d not started: budget" % skipped if skipped else ""))
    print("  exits: " + ", ".join("%s: %d" % (k, by_rc[k]) for k in
                                  sorted(by_rc, key=lambda s: (s == "killed", int(s) if
                                                               s != "killed" else 0))))
    print("  outcomes: " + ", ".join("%s %d" % (k, by_kind.get(k, 0)) for k in
                                     ("ok", "stopped", "crash", "hang", "limit")))
    if bad:
        for r in bad[:20]:
            print("\n== %s: %s [%s]\n%s\n%s" % (r["kind"], r["label"], r["why"], " ".join(
                r["argv"]), "\n".join(r["stderr"].strip().split("\n")[-8:])))
        print("\nmutate_run: FAILED: %d crashes, %d hangs, %d over a limit; mutants kept in %s" %
              (by_kind.get("crash", 0), by_kind.get("hang", 0), by_kind.get("limit", 0),
               opt.keep))
        return 1
    print("mutate_run: ok (0 crashes, 0 hangs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
