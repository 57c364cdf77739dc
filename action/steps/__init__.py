"""The work of each state, one module per state: `tagged`, `built`, `attested`, `drafted`,
`approved`, `published` (which also does test-published: the same uploads, another index).

Each handler takes the job and the planned step, does the step's side effects, and records
the intent before and the result after through `job.record_and_flush` (docs/adr/0002).
Attaching files to the draft is `drafted` work even when it happens earlier: built files are
attached as soon as they are built, so that later jobs (on other runners) can fetch them from
the draft. A step imports the floor (`action.job`, `action.lane_files`), the adapters and the
core, never the pipeline or another step (docs/adr/0004).
"""
