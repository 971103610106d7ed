"""Export: write a converted model into a folder, and read one back for evaluation."""
