"""Building what a release uploads: the sdist (`python -m build`), wheels (cibuildwheel through
the Docker engine), and the checks every file passes before it is recorded.

    outputs.py        `BuildOutput`: one build step's files, tools and images, as recorded
    tools.py          what every build shares: SOURCE_DATE_EPOCH, tool versions, collecting files
    sdist.py          `python -m build`: the sdist (normalised) and pure-Python wheels
    wheels.py         cibuildwheel: the build identifiers of a configuration, the wheel builds
                      (from the sdist just built, or from the checkout)
    failures.py       a failed cibuildwheel run in one line; the files an sdist lacks
    identifiers.py    which wheel a build identifier makes; the completeness of a wheel set
    checks.py         the take-in checks of a built file: its version is the tag's, twine check
    docker_engine.py  the Docker engine API: is it there, which images did a build use

Every build gets SOURCE_DATE_EPOCH (the tag commit's date). `build_sdist` then rewrites the
sdist's archive metadata deterministically (names sorted, every mtime set to the epoch, owners
and modes normalised, gzip header time fixed; file contents untouched), because setuptools
stamps the current time into sdists. cibuildwheel 4 passes SOURCE_DATE_EPOCH into its build
containers itself (`docker create --env=SOURCE_DATE_EPOCH`), so the user's own
`environment`/`environment-pass` settings are left alone.

Wheels are checked for completeness by build identifier: `expected_identifiers` asks
cibuildwheel what a configuration builds, `compare_identifiers` lists the identifiers no wheel
covers and the wheels no identifier explains.
"""
