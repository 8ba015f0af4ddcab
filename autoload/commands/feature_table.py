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


if __name__ == "__main__":
    print(readme_section())
