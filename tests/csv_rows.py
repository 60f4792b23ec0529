"""Writing a CSV file for the command-line tests: a header and rows, as the csv module quotes them."""

import csv


def write_rows(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
