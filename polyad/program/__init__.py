"""Programs: lowering derivative statements to buffers and instructions, and rewrites of them."""
