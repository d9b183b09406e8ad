"""The import picture: rooms (top-level folders and modules) stacked in one order, each one
importing only rooms below it; no module over 300 lines, no room over a fifth of the code.

Imports inside functions count too: they run as surely as those at the top, only later.
"""

import ast
import collections
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Bottom first: a room may import the rooms before it in this list, never those after it.
ROOMS = ("errors", "text_files", "atomic_files", "tokenization", "extract_layers", "modeling",
         "data", "checkpoints", "scoring", "training", "runs", "command_line", "deploy",
         "baselines", "benchmarks", "main")
MAX_MODULE_LINES = 300
MAX_ROOM_SHARE = 1 / 5


def _modules():
    """{dotted module name: path} of the project's Python files, tests left out."""
    names = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                            "*.py"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    modules = {}
    for path in names:
        if path.split("/")[0] == "tests" or not os.path.exists(os.path.join(ROOT, path)):
            continue
        name = path[:-len(".py")].replace("/", ".")
        modules[name.removesuffix(".__init__")] = os.path.join(ROOT, path)
    return modules


def _imported(path, name, modules):
    """The project's modules that the module `name` at `path` imports, anywhere in it."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # `from package import module` imports the module; `from module import name`
            # imports the module itself.
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _room(module):
    return module.split(".")[0]


def _graph():
    modules = _modules()
    return modules, {name: _imported(path, name, modules) for name, path in modules.items()}


def test_every_room_is_in_the_order():
    modules, _ = _graph()
    missing = sorted({_room(name) for name in modules} - set(ROOMS))
    assert not missing, f"rooms not in ROOMS (add each where its imports put it): {missing}"


def test_imports_run_down_only():
    _, graph = _graph()
    up = [f"{name} imports {target}" for name, targets in sorted(graph.items())
          for target in sorted(targets)
          if ROOMS.index(_room(target)) > ROOMS.index(_room(name))]
    assert not up, "imports up the order of ROOMS:\n" + "\n".join(up)


def test_no_import_circle():
    _, graph = _graph()
    circles = []
    done, path = set(), []

    def visit(name):
        if name in path:
            circles.append(" -> ".join(path[path.index(name):] + [name]))
            return
        if name in done:
            return
        path.append(name)
        for target in sorted(graph[name]):
            visit(target)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_no_module_over_300_lines():
    modules, _ = _graph()
    long = sorted(name for name, path in modules.items() if _lines(path) > MAX_MODULE_LINES)
    assert not long, f"over {MAX_MODULE_LINES} lines: {long}"


def test_no_room_over_a_fifth_of_the_code():
    modules, _ = _graph()
    rooms = collections.Counter()
    for name, path in modules.items():
        rooms[_room(name)] += _lines(path)
    total = sum(rooms.values())
    assert {room: f"{lines} of {total} lines" for room, lines in rooms.items()
            if lines > MAX_ROOM_SHARE * total} == {}


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return sum(1 for _ in f)
