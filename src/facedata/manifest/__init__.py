"""What a dataset is: the manifest schema, the catalog of manifests, new manifests."""
