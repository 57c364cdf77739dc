"""GitHub, the one adapter for it: the release as the store of the log and the files, the tag,
the run's approvals, the provenance's attestation. PyGithub underneath; the API base is
GITHUB_API_URL.

    transport.py   HTTP: a client per thread, the write pacer, retries (action.retry), pages
    pacing.py      GitHub's write limits (80 a minute, 500 an hour), one pacer for all threads
    failures.py    which failures pass, rate-limit waits, GitHub's refusals as our errors
    releases.py    a tag's release, drafts (never two), backfill drafts, publishing
    assets.py      uploads that never repeat blindly, cut-off uploads, checked downloads, the
                   last listing of each release kept up to date with the store's own changes
    log_store.py   the state log as one current snapshot asset, appended with confirmation
    store.py       GitHubStore: the ReleaseStore made of the three above; open_github_store
    run.py         the tag's commit and date, the run's environment approvals
    attestations.py
                   the provenance's Sigstore bundle in GitHub's attestations API
"""
