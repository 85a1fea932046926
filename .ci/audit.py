"""CI audits: published vulnerabilities in the installed packages (pip-audit) and risky code (bandit).

    python .ci/audit.py packages            every package installed in this Python environment
    python .ci/audit.py code flowtrack jobs the code under those folders

A finding fails the run unless the reviewed ignore file (.ci/audit-ignore.toml)
lists it with a reason. An entry that matches no finding fails the run too, so
the file only holds exceptions that still apply. Inline `# nosec`
comments are not honored; exceptions live only in the ignore file.

An audit that could not look (bandit could not parse a file, or the
vulnerability service is out of reach) is not a pass, and says so, but it is
a different exit status from a finding: some machines reach the package
registry but not its per-version vulnerability data, and CI decides what that
means (.ci/run warns and goes on; a finding always stops it).

Exit status: 0 clean, 1 findings, 2 a bad ignore file, 3 the audit could not look.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_IGNORE_FILE = ROOT / ".ci" / "audit-ignore.toml"
MIN_REASON_WORDS = 5


class IgnoreFileError(Exception):
    pass


@dataclass
class IgnoreEntry:
    kind: str
    fields: dict
    used: bool = False

    def describe(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.fields.items() if k != "reason")


REQUIRED = {"bandit": ("test", "file", "code", "reason"), "pip-audit": ("id", "package", "reason")}


def load_ignores(path: Path) -> list[IgnoreEntry]:
    """Every entry names its finding precisely and says, in a sentence, why it is safe."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise IgnoreFileError(f"{path}: {error}") from error
    unknown = set(data) - set(REQUIRED)
    if unknown:
        raise IgnoreFileError(f"{path}: unknown sections {sorted(unknown)} (allowed: {sorted(REQUIRED)})")
    entries = []
    for kind, keys in REQUIRED.items():
        for number, entry in enumerate(data.get(kind, []), start=1):
            missing = [k for k in keys if not str(entry.get(k, "")).strip()]
            if missing:
                raise IgnoreFileError(f"{path}: [[{kind}]] entry {number} lacks {', '.join(missing)}")
            extra = set(entry) - set(keys)
            if extra:
                raise IgnoreFileError(f"{path}: [[{kind}]] entry {number} has unknown keys {sorted(extra)}")
            if len(entry["reason"].split()) < MIN_REASON_WORDS:
                raise IgnoreFileError(f"{path}: [[{kind}]] entry {number}: the reason must say why it is safe")
            entries.append(IgnoreEntry(kind, dict(entry)))
    return entries


def _flagged_source(filename: str, line_range: list[int]) -> str:
    lines = Path(filename).read_text().splitlines()
    return "\n".join(lines[n - 1] for n in line_range if 0 < n <= len(lines))


def audit_code(paths: list[str], ignores: list[IgnoreEntry]) -> tuple[list[str], bool]:
    """Bandit findings (all severities) that no ignore entry covers, and whether bandit could scan at all."""
    run = subprocess.run(
        [sys.executable, "-m", "bandit", "--recursive", "--format", "json", "--quiet", "--ignore-nosec", *paths],
        capture_output=True, text=True)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        return [f"bandit did not run (exit {run.returncode}): {run.stderr.strip() or run.stdout.strip()}"], False
    problems = [f"bandit could not scan {e['filename']}: {e['reason']}" for e in report.get("errors", [])]
    for result in report["results"]:
        source = _flagged_source(result["filename"], result["line_range"])
        covering = [e for e in ignores if e.kind == "bandit" and e.fields["test"] == result["test_id"]
                    and Path(e.fields["file"]) == Path(result["filename"]) and e.fields["code"] in source]
        for entry in covering:
            entry.used = True
        if not covering:
            problems.append(f"{result['filename']}:{result['line_number']}: {result['test_id']} "
                            f"{result['issue_text']} ({result['issue_severity'].lower()} severity)\n"
                            f"    {source.strip()}")
    return problems, not report.get("errors")


def audit_packages(ignores: list[IgnoreEntry], *, requirements: list[str], service: str,
                   osv_url: str | None, cache_dir: str | None) -> tuple[list[str], bool]:
    """Published vulnerabilities minus reviewed exceptions, and whether every package could be checked."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "pip-audit.json"
        command = [sys.executable, "-m", "pip_audit", "--strict", "--progress-spinner", "off",
                   "--vulnerability-service", service, "--format", "json", "--output", str(output)]
        if requirements:
            for requirement in requirements:
                command += ["--requirement", requirement]
            command += ["--no-deps", "--disable-pip"]
        else:
            command += ["--skip-editable"]  # FlowTrack itself, installed from this checkout
        if osv_url:
            command += ["--osv-url", osv_url]
        if cache_dir:
            command += ["--cache-dir", cache_dir]
        run = subprocess.run(command, capture_output=True, text=True)
        report = json.loads(output.read_text()) if output.exists() and output.stat().st_size else None
    if report is None:
        detail = "\n".join(run.stderr.strip().splitlines()[-12:])
        return [f"pip-audit could not check every package against the vulnerability data ({service} service), "
                f"so nothing is known to be safe. Its last words:\n{detail}"], False
    problems = []
    for dependency in report["dependencies"]:
        for vuln in dependency.get("vulns", []):
            names = {vuln["id"], *vuln.get("aliases", [])}
            covering = [e for e in ignores if e.kind == "pip-audit" and e.fields["id"] in names
                        and e.fields["package"].lower() == dependency["name"].lower()]
            for entry in covering:
                entry.used = True
            if not covering:
                fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
                problems.append(f"{dependency['name']} {dependency['version']}: {vuln['id']} "
                                f"({', '.join(vuln.get('aliases', [])) or 'no aliases'}); fixed in {fixed}\n"
                                f"    {vuln.get('description', '')[:300]}")
    return problems, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ignore-file", type=Path, default=DEFAULT_IGNORE_FILE)
    commands = parser.add_subparsers(dest="command", required=True)
    code = commands.add_parser("code", help="bandit on the given folders")
    code.add_argument("paths", nargs="+")
    packages = commands.add_parser("packages", help="pip-audit on this environment or pinned requirements")
    packages.add_argument("--requirement", "-r", action="append", default=[])
    packages.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    packages.add_argument("--osv-url", help="an OSV-compatible API (a mirror) instead of api.osv.dev")
    packages.add_argument("--cache-dir")
    args = parser.parse_args(argv)

    try:
        ignores = load_ignores(args.ignore_file)
    except IgnoreFileError as error:
        print(f"audit: bad ignore file: {error}", file=sys.stderr)
        return 2
    if args.command == "code":
        label = f"bandit on {' '.join(args.paths)}"
        problems, checked = audit_code(args.paths, ignores)
        kind = "bandit"
    else:
        label = "pip-audit on " + (" ".join(args.requirement) or "the installed packages")
        problems, checked = audit_packages(ignores, requirements=args.requirement, service=args.service,
                                  osv_url=args.osv_url, cache_dir=args.cache_dir)
        kind = "pip-audit"
    stale = [e for e in ignores if e.kind == kind and not e.used] if checked else []
    problems += [f"{args.ignore_file.name} lists [[{kind}]] {e.describe()}, which matches no finding: remove it"
                 for e in stale]
    if problems and not checked and kind == "pip-audit":
        print(f"NOT CHECKED {label}:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("The pypi service reads https://pypi.org/pypi/<name>/<version>/json and the osv service "
              "https://api.osv.dev/v1/query (or --osv-url); this machine must reach one of them.", file=sys.stderr)
        return 3
    if problems:
        print(f"FAILED {label}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print(f"Fix each finding, or list it in {args.ignore_file} with the reason it is safe.", file=sys.stderr)
        return 1
    listed = sum(1 for e in ignores if e.kind == kind)
    print(f"ok {label}: no findings beyond {listed} reviewed exception(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
