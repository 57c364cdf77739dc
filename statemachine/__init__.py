"""The pure core of the release tool: events, the log, replay, guards, planning, the diagram.

Nothing in this package touches the network, the file system, subprocesses or the clock: it
decides; `action/` does.
"""
