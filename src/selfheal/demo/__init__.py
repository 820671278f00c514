"""The one-command demo: settings, the live view, the timeline it samples and the summary it prints."""
