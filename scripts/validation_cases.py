"""validation_cases — the one reader of tests/validation/cases/*.case.

scripts/validate (the validation table) and research/fands-explore (the
what-if experiments on the cases' inputs) both read cases through
load_case(), so a case means the same to both.

Concepts:
  - A case file is `key: value` lines; `#` starts a comment line; a key
    given again continues a text field (joined with a space), except the
    list keys (set, sensitivity, sweep), whose values are split on white
    space and collected.
  - id, source, role and published are required; expected (pass), check
    (within), tol_abs and tol_rel (nan = not given) get defaults.
Not modeled: quoting; a value is the rest of its line.
"""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "tests", "validation", "cases")

LIST_KEYS = {"set", "sensitivity", "sweep"}


class CaseError(Exception):
    """A malformed case file: the message names the file and line."""


def case_path(case_id):
    """The file of the case named case_id in tests/validation/cases."""
    return os.path.join(CASES, case_id + ".case")


def load_case(path):
    """The case in path as a dict; CaseError if it is malformed."""
    case = {"set": [], "sensitivity": [], "sweep": [],
            "file": os.path.basename(path)}
    with open(path) as f:
        for no, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if ":" not in s:
                raise CaseError("%s:%d: expected `key: value`" % (path, no))
            k, v = s.split(":", 1)
            k, v = k.strip(), v.strip()
            if k in LIST_KEYS:
                case[k] += v.split()
            elif k in case:
                case[k] += " " + v  # continuation of a text field
            else:
                case[k] = v
    for k in ("id", "source", "role", "published"):
        if k not in case:
            raise CaseError("%s: missing key %s" % (path, k))
    case.setdefault("expected", "pass")
    case["published"] = float(case["published"])
    case["tol_abs"] = float(case.get("tol_abs", "nan"))
    case["tol_rel"] = float(case.get("tol_rel", "nan"))
    case.setdefault("check", "within")
    return case
