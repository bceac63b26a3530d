"""The dependency rule of the three packages, storage ← crawler ← monitor (docs/architecture.md):
storage imports neither crawler nor monitor, crawler imports storage but never monitor, monitor may
import both. Read off the sources with `ast`, every import counted: at module level, inside
functions, under `if TYPE_CHECKING:`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# package → the packages of ours it must never import
FORBIDDEN = {"storage": {"crawler", "monitor"}, "crawler": {"monitor"}}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) for every import statement in `source`, the text of `module`;
    relative imports resolved against its package."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            found.append((node.lineno, ".".join([*base, *([node.module] if node.module else [])])))
    return found


def _file_imports(path: Path) -> list[tuple[int, str]]:
    return _imports(
        path.read_text(encoding="utf-8"), _module_name(path), path.name == "__init__.py"
    )


def _wrong_way(package: str) -> list[str]:
    forbidden = FORBIDDEN[package]
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name in _file_imports(path)
        if name.split(".")[0] in forbidden
    ]


def test_storage_imports_neither_crawler_nor_monitor():
    wrong = _wrong_way("storage")
    assert not wrong, "storage must not import crawler or monitor:\n" + "\n".join(wrong)


def test_crawler_imports_storage_but_never_monitor():
    wrong = _wrong_way("crawler")
    assert not wrong, "crawler must not import monitor:\n" + "\n".join(wrong)
    # the rule has a direction, not just an absence: the crawler writes through storage
    assert any(
        name.split(".")[0] == "storage"
        for path in (ROOT / "crawler").rglob("*.py")
        for _, name in _file_imports(path)
    )


def test_the_rule_sees_imports_inside_functions_relative_ones_and_type_checking_ones():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from monitor.config import Target\n"
        "def f():\n    import monitor.alerts\n    from .spiders import kind\n"
    )
    names = {name for _, name in _imports(source, "crawler.runner")}
    assert names == {"typing", "monitor.config", "monitor.alerts", "crawler.spiders"}
