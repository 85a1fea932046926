"""The Nu validator (vnu-jar, on the machine's Java): a page's errors, but those about htmx's hx- attributes,
which it does not know."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

VNU = Path(__file__).parents[1] / ".e2e" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def nu_validator_errors(files: list[Path]) -> list[str]:
    """Each error in the files, as `file:line: message`."""
    if not VNU.exists() or not shutil.which("java"):
        if os.environ.get("FLOWTRACK_REQUIRE_BROWSER"):
            raise RuntimeError(f"the Nu validator needs Java and {VNU} (npm install --prefix .e2e vnu-jar)")
        pytest.skip("the Nu validator is not installed (npm install --prefix .e2e vnu-jar)")
    result = subprocess.run(["java", "-jar", str(VNU), "--errors-only", "--format", "json", *map(str, files)],
                            capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or result.stdout)["messages"]
    return [f"{Path(m['url']).name}:{m.get('lastLine')}: {m['message']}" for m in messages
            if m["type"] == "error" and "“hx-" not in m["message"]]
