"""Where bytes come from: every HTTP GET (``http``, through the ``dialer``), S3's ranged GetObject
(``s3``), the objects an HLS playlist names (``hls``), and what they share (``ranges``). Built from the
settings in one place: :class:`~..fetch.Fetch`."""
