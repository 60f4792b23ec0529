"""Helpers of the command-line tests: writing a CSV file, and reading the one error line a
refused command prints."""

import csv


def write_rows(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def one_line(out, status: int = 2) -> str:
    """The one line a refused command printed on stderr (exit ``status``, no traceback)."""
    assert out.returncode == status, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    return lines[0]
