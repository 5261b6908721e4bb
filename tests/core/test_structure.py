"""The layout's rules that code can check (docs/architecture.md, "Arrows allowed").

``app/admin/`` holds staff screens and ``app/api/`` the JSON API: they call the domains, and no
domain calls them. Shared plumbing lives in ``app/core/``, which imports no domain. The packages
import each other without a cycle: a lower domain reaches the ones above it only through the
signals of ``app/core/signals.py``. Every import counts, at module level or inside a function.
"""

import ast
from pathlib import Path

import app as app_package

APP = Path(app_package.__file__).parent
# Screens and API: the only packages that may import each other's modules.
CALLERS = ("admin", "api")
# The composition root wires everything together (blueprints, CLI commands).
ROOT = {"__init__.py", "cli.py"}
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
    return top not in CALLERS and top not in ROOT


def _package_of(path: Path) -> str:
    """The dotted package a module's relative imports start from."""
    relative = path.relative_to(APP.parent)
    if path.name == "__init__.py":
        return ".".join(relative.parent.parts)
    return ".".join(relative.with_suffix("").parts[:-1])


def _imports(path: Path, packages: set[str]):
    """(line, module, package) for each import in ``path`` of a package under app/: the first
    module the statement names in one (``from app import members`` names app.members)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        for module in _imported_modules(node, _package_of(path)):
            target = _target(module, packages)
            if target is not None:
                yield node.lineno, module, target
                break


def _packages() -> set[str]:
    """The packages directly under app/ (core, the domains, admin, api)."""
    return {p.name for p in APP.iterdir() if (p / "__init__.py").is_file()}


def _target(module: str, packages: set[str]) -> str | None:
    """The package under app/ that ``module`` lies in, if any."""
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "app" and parts[1] in packages:
        return parts[1]
    return None


def package_arrows() -> dict[tuple[str, str], list[str]]:
    """Every arrow between two packages under app/, with 'file:line imports module' for each
    import that draws it (the composition root left out)."""
    packages = _packages()
    arrows: dict[tuple[str, str], list[str]] = {}
    for path in sorted(APP.rglob("*.py")):
        source = path.relative_to(APP).parts[0]
        if source not in packages:
            continue
        for line, module, target in _imports(path, packages):
            if target == source:
                continue
            where = f"{path.relative_to(APP.parent)}:{line} imports {module}"
            arrows.setdefault((source, target), []).append(where)
    return arrows


def import_cycles() -> list[list[str]]:
    """The sets of packages that import each other round a cycle (strongly connected), each
    sorted, with an arrow's example for each pair inside; empty when the packages are layered."""
    arrows = package_arrows()
    above: dict[str, set[str]] = {}
    for source, target in arrows:
        above.setdefault(source, set()).add(target)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in above.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reached = {name: reach(name) for name in above}
    cycles = []
    for name in sorted(above):
        group = sorted({name} | {o for o in reached[name] if name in reached.get(o, ())})
        if len(group) > 1 and group not in cycles:
            cycles.append(group)
    return [
        [*group, *(arrows[(a, b)][0] for a in group for b in group if (a, b) in arrows)]
        for group in cycles
    ]


def core_imports_of_domains() -> list[str]:
    """'file:line imports module' for every import in app/core/ of another package of app/."""
    packages = _packages()
    found = []
    for path in sorted((APP / "core").rglob("*.py")):
        for line, module, target in _imports(path, packages):
            if target != "core":
                found.append(f"{path.relative_to(APP.parent)}:{line} imports {module}")
    return found


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


def test_the_packages_import_each_other_without_a_cycle():
    assert import_cycles() == []


def test_core_imports_no_domain():
    assert core_imports_of_domains() == []


def _tree(tmp_path, monkeypatch, files: dict[str, str]) -> None:
    root = tmp_path / "app"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setattr(f"{__name__}.APP", root)


def test_the_cycle_check_finds_a_cycle_through_any_import(tmp_path, monkeypatch):
    """The rule's own test: a cycle closed by an import inside a function, a relative import
    or ``from app import x`` is found, with an example of each arrow; a layered tree has none,
    and the composition root may import everything."""
    _tree(
        tmp_path,
        monkeypatch,
        {
            "__init__.py": "from app.members import views\nfrom app.events import views\n",
            "extensions.py": "from app.core import models\n",
            "core/__init__.py": "",
            "core/models.py": "from app.extensions import db\n",
            "members/__init__.py": "from app.core.signals import member_deleting\n",
            "members/models.py": "from ..core.models import Base\n",
            "members/privacy.py": "def delete():\n    from app.events.closing import withdraw\n",
            "events/__init__.py": "",
            "events/closing.py": "from app.members.models import Member\n",
            "loyalty/__init__.py": "from app import members\n",
            "cards/__init__.py": "from .. import loyalty\nfrom app.members import models\n",
        },
    )
    assert import_cycles() == [
        [
            "events",
            "members",
            "app/events/closing.py:1 imports app.members.models",
            "app/members/privacy.py:2 imports app.events.closing",
        ]
    ]
    (tmp_path / "app/members/privacy.py").write_text("from app.core import signals\n")
    assert import_cycles() == []
    (tmp_path / "app/members/__init__.py").write_text("import app.cards\n")
    assert import_cycles()[0][:3] == ["cards", "loyalty", "members"]


def test_the_core_check_finds_every_form_of_import(tmp_path, monkeypatch):
    """The rule's own test: core may import core and the extensions, nothing of a domain,
    however it is imported; the campaigns forwarders are the only exceptions."""
    _tree(
        tmp_path,
        monkeypatch,
        {
            "extensions.py": "",
            "core/__init__.py": "",
            "members/__init__.py": "",
            "core/web.py": (
                "from app.extensions import db\n"
                "from app.core.errors import NotFound\n"
                "from .security import plain_int\n"
            ),
            "core/tools/__init__.py": "",
            "core/tools/deep.py": "from ... import members\n",
            "core/audit.py": (
                "import app.members.models\n"
                "from app import members\n"
                "def who():\n"
                "    from ..members.models import Member\n"
            ),
        },
    )
    assert core_imports_of_domains() == [
        "app/core/audit.py:1 imports app.members.models",
        "app/core/audit.py:2 imports app.members",
        "app/core/audit.py:4 imports app.members.models",
        "app/core/tools/deep.py:1 imports app.members",
    ]
