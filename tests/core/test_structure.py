"""The layout's rules that code can check (docs: DESIGN.md, Architecture).

``app/admin/`` holds staff screens and ``app/api/`` the JSON API: they call the domains, and no
domain calls them. Shared plumbing lives in ``app/core/``, a domain's reports in its own
``reports.py``. A domain that imported a screen module would tie its rules to a page.
"""

import ast
from pathlib import Path

import app as app_package

APP = Path(app_package.__file__).parent
# Screens and API: the only packages that may import each other's modules.
CALLERS = ("admin", "api")
# The composition root wires everything together (blueprints, CLI commands).
ROOT = {"__init__.py", "cli.py"}
# Being moved out of app/ (issue 17, the generators' slice); until then they are tools.
LEAVING = {"bench", "demo.py"}
FORBIDDEN = tuple(f"app.{name}" for name in CALLERS)


def _imported_modules(node: ast.AST, package: str) -> list[str]:
    """The modules an import statement names, relative imports resolved against ``package``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        # ``from app import admin`` imports the package app.admin.
        return [module] + [f"{module}.{alias.name}" for alias in node.names]
    return []


def _names_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def _outside_callers(path: Path) -> bool:
    top = path.relative_to(APP).parts[0]
    return top not in CALLERS and top not in ROOT and top not in LEAVING


def forbidden_imports() -> list[str]:
    """'file:line imports module' for every import of app.admin or app.api (at module level or
    inside a function) from a module outside them and the composition root."""
    found = []
    for path in sorted(APP.rglob("*.py")):
        if not _outside_callers(path):
            continue
        relative = path.relative_to(APP.parent)
        package = ".".join(relative.with_suffix("").parts[:-1])
        if path.name == "__init__.py":
            package = ".".join(relative.parent.parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for module in _imported_modules(node, package):
                if _names_forbidden(module):
                    found.append(f"{relative}:{node.lineno} imports {module}")
                    break
    return found


def test_no_domain_imports_the_staff_screens_or_the_api():
    assert forbidden_imports() == []


def test_the_check_finds_every_form_of_import(tmp_path, monkeypatch):
    """The rule's own test: each way of importing a screen module is caught, with file and
    line; the screens, the API and the composition root may import them."""
    root = tmp_path / "app"
    files = {
        "admin/views.py": "from app.api import views\n",
        "api/views.py": "import app.admin.views\n",
        "__init__.py": "from app.admin.views import bp\n",
        "bench/seed.py": "from app.admin import views\n",
        "hq/__init__.py": "from . import views\n",
        "hq/views.py": (
            "import app.admin.insight\n"
            "from app.admin.insight import _row\n"
            "from app import api\n"
            "def page():\n"
            "    from ..admin import views\n"
            "    import app.api.spec as spec\n"
            "from app.administration import x\n"
            "from app.core import reports\n"
            "from .reports import table\n"
        ),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setattr(f"{__name__}.APP", root)
    assert forbidden_imports() == [
        "app/hq/views.py:1 imports app.admin.insight",
        "app/hq/views.py:2 imports app.admin.insight",
        "app/hq/views.py:3 imports app.api",
        "app/hq/views.py:5 imports app.admin",
        "app/hq/views.py:6 imports app.api.spec",
    ]
