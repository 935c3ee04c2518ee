"""Text modules (reusable texts with placeholders) and macros (several changes in one click)."""
