"""Looking at datasets: overlays of labels on rendered frames (reads shards through synth.io)."""
