"""Config-space tests: random valid configs per architecture, run in every framework (and, where
transformers 4.57.6 is installed with AUTOLOAD_PARITY=1, in transformers too), all outputs compared.

Each architecture family has a module here defining GENERATORS = {model_type: draw}, where
`draw(rng: numpy.random.Generator) -> Draw` returns one random valid config covering the fields the
reference's modeling code reads. `generators()` collects them all.
"""

from __future__ import annotations

import importlib
import pkgutil


def generators() -> dict:
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_") or module.name == "harness":
            continue
        found.update(importlib.import_module(f"{__name__}.{module.name}").GENERATORS)
    return dict(sorted(found.items()))
