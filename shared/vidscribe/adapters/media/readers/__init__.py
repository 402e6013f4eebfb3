"""How bytes are read: the one seekable file (``seekable``; with a plan, ``sparse``), requests in flight
within a window (``parallel``), and streams read front to back (``stream``)."""
