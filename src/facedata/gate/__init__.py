"""Whether a source may enter a build: the license policy, its clearances, the gate."""
