"""The core's own features, registered as ordinary plugins through the same hooks."""
