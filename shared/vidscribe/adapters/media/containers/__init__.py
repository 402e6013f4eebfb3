"""What is inside: an MP4's index (``mp4_index``), an HLS playlist (``playlist``), a container known by its
first bytes (``formats``)."""
