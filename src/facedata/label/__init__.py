"""The unified label set and the remap of each source's own codes onto it."""
