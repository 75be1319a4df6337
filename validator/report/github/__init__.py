"""The GitHub Actions formats: step-log annotations and the job summary."""
