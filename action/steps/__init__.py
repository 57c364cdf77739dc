"""The work of each state, one module per state: `tagged`, `built`, `attested`, `drafted`,
`approved`, `published` (which also does test-published: the same uploads, another index).

Each handler takes the job and the planned step, does the step's side effects, and records
the intent before and the result after through `job.commit`.
"""
