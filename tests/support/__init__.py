"""Helpers shared by the test suites: test image builds and the like."""
