"""Count the requests schemathesis sends, and print the total at the end of the run."""
import schemathesis

CASES = {"count": 0}


@schemathesis.hook
def before_call(context, case, kwargs):
    """Count one generated request."""
    CASES["count"] += 1


def pytest_terminal_summary(terminalreporter):
    """Report how many requests the fuzzer sent."""
    terminalreporter.write_line(f"schemathesis: {CASES['count']} generated requests, no failures allowed")
