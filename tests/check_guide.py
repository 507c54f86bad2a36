#!/usr/bin/env python3
"""docs/guide.md quotes the tutorial programs: every code block announced by
<!-- snippet: examples/tutorial/<file>.cpp [tag] --> must equal the lines between
// [tag] and // [/tag] in that file (leading whitespace ignored), so the guide cannot drift
from the programs the tests build and run. Usage: check_guide.py <source dir>."""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
guide = (root / "docs/guide.md").read_text()
pattern = re.compile(r"<!-- snippet: (\S+) \[(\S+)\] -->\n```cpp\n(.*?)```", re.S)
failures, checked = [], 0
for path, tag, block in pattern.findall(guide):
    text = (root / path).read_text()
    m = re.search(r"^[ \t]*// \[" + re.escape(tag) + r"\][^\n]*\n(.*?)^[ \t]*// \[/" + re.escape(tag) + r"\]",
                  text, re.S | re.M)
    strip = lambda s: [line.strip() for line in s.strip("\n").splitlines()]
    checked += 1
    if not m:
        failures.append(f"{path}: no region [{tag}]")
    elif strip(m.group(1)) != strip(block):
        failures.append(f"{path} [{tag}]: the guide's excerpt differs from the program")
if checked == 0:
    failures.append("docs/guide.md: no snippets found")
for f in failures:
    print(f)
print(f"{checked} snippets checked, {len(failures)} problems")
sys.exit(1 if failures else 0)
