"""The 24/7 channel: the persistent script queue (items, store) and, later, the runtime that plays it."""
