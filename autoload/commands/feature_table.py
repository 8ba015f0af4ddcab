"""The README's feature table, generated from the registry so it can never drift from the code."""

from __future__ import annotations

from .. import registry
from ..families import BACKENDS, FAMILIES, auto_class_name

BEGIN = "<!-- feature-table:begin -->"
END = "<!-- feature-table:end -->"


def feature_table() -> str:
    table = registry.architectures_table()
    lines = ["| Auto class (PyTorch name) | " + " | ".join(BACKENDS) + " |", "|---" * (len(BACKENDS) + 1) + "|"]
    for family in FAMILIES:
        cells = []
        for backend in BACKENDS:
            types = [t for t, families in table.items() if backend in families.get(family, [])]
            cells.append(", ".join(types) or "—")
        if any(c != "—" for c in cells):
            lines.append(f"| {auto_class_name(family, 'torch')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def readme_section() -> str:
    return f"{BEGIN}\n{feature_table()}\n{END}"


def update_readme(path: str) -> None:
    import re

    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: readme_section(), text, flags=re.S)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--write"]:
        update_readme(sys.argv[2] if len(sys.argv) > 2 else "README.md")
    else:
        print(readme_section())
