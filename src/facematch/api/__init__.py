"""The HTTP shell: the v2 contract over the pipeline."""
