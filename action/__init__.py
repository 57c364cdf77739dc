"""Everything that touches the world: the runner, GitHub, Docker, builders, signers, indexes."""
