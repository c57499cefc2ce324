"""What a reminder says: its context, text limits, Claude's texts written ahead, and built-in fallbacks."""
