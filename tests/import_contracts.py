"""An import-linter contract type for what the built-in `forbidden` cannot say.

`forbidden` takes only whole external packages ("PySide6", not "PySide6.QtWidgets"): the
controller may use QtCore but no widgets. This contract finds every module the source modules
reach (their own and, through playground, the ones they import, directly or not), and reads
each import of the external package in those modules' source, so that
``from PySide6 import QtCore, QtWidgets`` is caught as well as ``import PySide6.QtWidgets``.

Registered in pyproject.toml's [tool.importlinter] contract_types; `lint-imports` runs from the
repository root, which it puts on sys.path.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class ForbiddenSubmodulesContract(Contract):
    """``source_modules``, and every module of the project they import, import none of
    ``forbidden_modules`` (dotted names inside external packages) or anything under them."""

    type_name = "forbidden_submodules"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    forbidden_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        root = self.source_modules[0].root_package_name
        reached: set[str] = set()
        for source in self.source_modules:
            reached |= {source.name, *graph.find_descendants(source.name)}
        for module in list(reached):
            reached |= graph.find_upstream_modules(module)
        forbidden: list[str] = list(self.forbidden_modules)
        packages = {name.partition(".")[0] for name in forbidden}
        broken: set[str] = set()
        for importer in sorted(m for m in reached if m.partition(".")[0] == root):
            lines = {
                detail["line_number"]
                for package in packages
                for detail in graph.get_import_details(importer=importer, imported=package)
            }
            for line, name in _imported_names(_source_file(importer), lines):
                broken |= {
                    f"{importer}:{line} imports {f}"
                    for f in forbidden
                    if name == f or name.startswith(f + ".")
                }
        output.verbose_print(verbose, f"Read the imports of {len(reached)} modules.")
        return ContractCheck(kept=not broken, metadata={"broken": sorted(broken)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["broken"]:
            output.print_error(f"- {line}")
        output.new_line()


def _source_file(module: str) -> Path:
    # Found from the root package's folder, so that nothing of the project is imported (and run).
    root, *parts = module.split(".")
    spec = importlib.util.find_spec(root)
    assert spec is not None and spec.origin is not None, root
    path = Path(spec.origin).parent.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _imported_names(path: Path, lines: set[int]) -> list[tuple[int, str]]:
    """(line, dotted name) of each name imported by the import statements in ``path`` that start
    on ``lines``; a name imported ``from`` a package may be a submodule, so it counts too."""
    if not lines:
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) not in lines:
            continue
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names += [(node.lineno, node.module)]
            names += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return names
