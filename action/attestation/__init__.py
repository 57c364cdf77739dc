"""Attestation: what the release says about its files, signed, and how that is checked.

    statement.py   the in-toto v1 Statement with SLSA provenance v1 (pure: built, read back)
    dsse.py        DSSE envelopes: the signed form of a statement, one per `.intoto.jsonl` line
    keys.py        signing keys given as secrets, and `KeySigner`
    keyless.py     `SigstoreSigner`: keyless signing through the workflow's OIDC identity
    sigstore_env.py  what the job's environment says about Sigstore (OIDC, trust configuration)
    signers.py     the signer interface, the choice of signer, writing the provenance files
    verify.py      verifying provenance (key or Sigstore bundle) against the files' bytes
    pep740.py      PEP 740 publish attestations, made once per file and reused for each index

Import from the module that holds a name; this package re-exports nothing. statement.py,
dsse.py, keys.py and sigstore_env.py load no Sigstore module; keyless.py and pep740.py do;
signers.py and verify.py load it only to sign keyless or to check a bundle, so that a job
signing with a key, or not signing at all, starts without it.
"""
