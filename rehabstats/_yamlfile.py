"""Reading the project's YAML files: the data dictionary, glossaries and editions.

PyYAML's pure-Python parser takes 50 ms for the data dictionary, and every process of a
render reads it; libyaml's C parser, which PyYAML wheels include, takes 6 ms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """Parse the UTF-8 YAML file at `path` safely, with the C parser where available."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
