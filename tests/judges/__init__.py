"""Tests of the judging side: checkers, packages, sandboxes (tests/judges/hostile: programs)."""
