#!/usr/bin/env python3
"""readme-help.py NPGROW [README]: rewrite README.md's help blocks from `npgrow help`.

README's "Commands" section holds every help text verbatim (tests/cli/cli_help.sh checks it);
after changing host/cli/help.c, run this to bring README along.
"""
import re
import subprocess
import sys

npgrow = sys.argv[1]
path = sys.argv[2] if len(sys.argv) > 2 else "README.md"
text = open(path, encoding="utf-8").read()


def help_text(cmd):
    args = [npgrow, "help"] + ([cmd] if cmd else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return out if cmd else "".join(out.splitlines(True)[2:])  # overview: without the version


def replace(match):
    body = match.group(1)
    m = re.match(r"usage: npgrow (\w+)", body)
    if not m:
        return match.group(0)
    cmd = None if m.group(1) == "COMMAND" else m.group(1)
    return "```text\n" + help_text(cmd) + "```\n"


new = re.sub(r"```text\n(.*?)```\n", replace, text, flags=re.S)
if new != text:
    open(path, "w", encoding="utf-8").write(new)
    print(f"{path}: help blocks updated")
