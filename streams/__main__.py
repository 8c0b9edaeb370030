"""`python -m streams` is the `recon` command."""

from streams.cli.main import main

main()
