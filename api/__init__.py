"""The HTTP edge (Litestar) and the `videogen` command line. The API publishes; it never renders."""
