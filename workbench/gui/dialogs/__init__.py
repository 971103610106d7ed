"""The window's dialogs: export, about, and the error, trust and close prompts."""
