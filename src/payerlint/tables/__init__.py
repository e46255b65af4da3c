"""Reference tables: the CSV table files the rulebook compiler reads, and the importers
that produce them from the files CMS publishes (NCCI PTP edits, MUE values).

The table file format is deliberately plain (UTF-8, LF, RFC 4180 CSV, `#` provenance
comments, one snake_case header row, rows sorted by key) so that a quarterly CMS update
shows up as a small, reviewable diff. See `payerlint.tables.importers`.
"""
