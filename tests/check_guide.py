#!/usr/bin/env python3
"""docs/guide.md quotes the tutorial programs: every code block announced by
<!-- snippet: examples/tutorial/<file>.cpp [tag] --> must equal the lines between
// [tag] and // [/tag] in that file (leading whitespace ignored), so the guide cannot drift
from the programs the tests build and run.
Usage: check_guide.py <source dir> [--update]   (--update rewrites the guide's excerpts)."""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
update = "--update" in sys.argv[2:]
guide_file = root / "docs/guide.md"
guide = guide_file.read_text()
pattern = re.compile(r"<!-- snippet: (\S+) \[(\S+)\] -->\n```cpp\n(.*?)```", re.S)


def region(path, tag):
    """The tagged lines of a program, dedented by the marker's indentation; None if absent."""
    text = (root / path).read_text()
    m = re.search(r"^([ \t]*)// \[" + re.escape(tag) + r"\][^\n]*\n(.*?)^[ \t]*// \[/" +
                  re.escape(tag) + r"\]", text, re.S | re.M)
    if not m:
        return None
    indent = m.group(1)
    return "".join(line[len(indent):] if line.startswith(indent) else line
                   for line in m.group(2).splitlines(keepends=True))


def strip(s):
    return [line.strip() for line in s.strip("\n").splitlines()]


failures, checked = [], 0
for path, tag, block in pattern.findall(guide):
    checked += 1
    code = region(path, tag)
    if code is None:
        failures.append(f"{path}: no region [{tag}]")
    elif strip(code) != strip(block):
        failures.append(f"{path} [{tag}]: the guide's excerpt differs from the program")
if update:
    guide_file.write_text(pattern.sub(
        lambda m: f"<!-- snippet: {m.group(1)} [{m.group(2)}] -->\n```cpp\n"
                  f"{region(m.group(1), m.group(2)) or m.group(3)}```", guide))
    print(f"{checked} snippets rewritten")
    sys.exit(0)
if checked == 0:
    failures.append("docs/guide.md: no snippets found")
for f in failures:
    print(f)
print(f"{checked} snippets checked, {len(failures)} problems")
sys.exit(1 if failures else 0)
