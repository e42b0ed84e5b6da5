"""`ctm` verbs that live in their own module; ctm/cli.py lists them in COMMAND_MODULES."""
