"""HOW the zoo is tested: case matrix, exporters, backends, comparison, records, reports."""
