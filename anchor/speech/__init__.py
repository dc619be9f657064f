"""Speech: text -> program-rate PCM with timed phoneme and word events."""
