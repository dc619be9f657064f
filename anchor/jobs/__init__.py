"""Jobs: whole pieces of work (render a clip, a bulletin) built from the one-way pipeline."""
