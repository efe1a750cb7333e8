"""gradfix rules: one module per rule; importing this package registers them all.

Modules whose name starts with an underscore hold analysis helpers shared by the rules.
"""

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")
