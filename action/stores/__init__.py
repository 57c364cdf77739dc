"""Where a release lives: its log and its files. `github.py` on GitHub, `local.py` in rehearsals."""
