"""A refusal shown under a form's field goes through `flowtrack.core.forms.add_error`. A field's errors are a list
only once its form was validated; a form made to show another refusal (`LineForm(formdata=None)` beside a line
that could not be removed) holds WTForms' empty tuple, and appending to it was a 500."""
import re
from pathlib import Path

import flowtrack

ROOT = Path(flowtrack.__file__).parent
WRITES_TO_ERRORS = re.compile(r"\.errors\.(append|extend|insert)\(|\.errors\s*\+=")  # setting a new list is safe


def test_no_view_or_form_adds_to_a_fields_errors_but_through_add_error():
    writers = [f"{path.relative_to(ROOT)}:{number}" for path in ROOT.rglob("*.py") if path.name != "forms.py" or
               path.parent.name != "core" for number, line in enumerate(path.read_text().splitlines(), 1)
               if WRITES_TO_ERRORS.search(line)]
    assert writers == []
