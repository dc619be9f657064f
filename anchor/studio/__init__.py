"""Studio: composes program frames (background, anchor, graphics) from anchor frames."""
