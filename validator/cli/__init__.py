"""The command lines: validate-image, and what every command shares."""
