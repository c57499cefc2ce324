"""The study plan: blocks, repeat rules and their occurrences, the user's preferences."""
