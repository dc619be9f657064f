"""Face: avatar packs and the renderer that animates them from a MouthTrack."""
