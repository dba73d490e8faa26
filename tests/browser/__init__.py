"""Browser tests: Playwright driving the distribution's Chromium against real server processes."""
