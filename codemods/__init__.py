"""gradfix rules: one module per rule; importing this package registers them all."""
