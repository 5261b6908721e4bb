"""ABC grading of retained owners (seed 003): grades, care standards, contacts, due care."""
