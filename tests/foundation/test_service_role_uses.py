"""Every use of the service role (which bypasses row-level security) is one that docs/tenancy.md lists, with its
reason; a new use fails here until it is documented there."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFINED_IN = "flowtrack/core/db.py"
# What opens the service role: Database.service(), Database.service_session() and its engine.
SERVICE_ROLE = frozenset({"service", "service_session", "service_engine"})
HEADING = "## Where the service role is used"


def uses_in_code(root: Path = ROOT) -> set[tuple[str, str]]:
    """(module file, top-level function or method) of every place that opens the service role."""
    found: set[tuple[str, str]] = set()
    for path in sorted([*root.glob("flowtrack/**/*.py"), *root.glob("jobs/*.py")]):
        module = path.relative_to(root).as_posix()
        if module == DEFINED_IN:
            continue

        def visit(node: ast.AST, function: str, module: str = module) -> None:
            for child in ast.iter_child_nodes(node):
                inside = function
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and not function:
                    inside = child.name
                if isinstance(child, ast.Attribute) and child.attr in SERVICE_ROLE:
                    found.add((module, inside or "<module>"))
                visit(child, inside)

        visit(ast.parse(path.read_text(), filename=module), "")
    return found


def uses_in_docs() -> set[tuple[str, str]]:
    """(module, function) of every row of the table under "Where the service role is used" in docs/tenancy.md."""
    text = (ROOT / "docs" / "tenancy.md").read_text()
    assert HEADING in text, f"docs/tenancy.md has no section {HEADING!r}"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    listed = set()
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`[\w/]+\.py`", cells[0]):
            continue
        listed |= {(cells[0].strip("`"), name) for name in re.findall(r"`(\w+)`", cells[1])}
    return listed


def test_every_use_of_the_service_role_is_listed_in_the_tenancy_page():
    undocumented = uses_in_code() - uses_in_docs()
    assert not undocumented, ("the service role is opened here but docs/tenancy.md does not list it: "
                              f"{sorted(undocumented)}")


def test_every_use_the_tenancy_page_lists_is_still_in_the_code():
    gone = uses_in_docs() - uses_in_code()
    assert not gone, f"docs/tenancy.md lists service-role uses the code no longer has: {sorted(gone)}"


def test_the_webhooks_and_the_opt_out_link_are_among_the_uses():
    assert {("flowtrack/reminders/routes.py", "sms_reply"), ("flowtrack/reminders/routes.py", "opt_out"),
            ("flowtrack/billing/routes.py", "stripe_webhook")} <= uses_in_code()


def test_the_check_sees_a_use_inside_a_method_and_a_nested_function(tmp_path):
    source = ("class Job:\n    def run(self, db):\n        def inner():\n            return db.service()\n"
              "        return inner()\n\ndef plain(db):\n    return db.service_engine\n")
    fake = tmp_path / "flowtrack" / "somewhere.py"
    fake.parent.mkdir()
    fake.write_text(source)
    assert uses_in_code(tmp_path) == {("flowtrack/somewhere.py", "run"), ("flowtrack/somewhere.py", "plain")}
