"""Where results live: the S3 client, object keys, result URLs, bucket rules and the upload.

Shared by the workers (upload), the API (download URLs, health) and deploy (the embedded bucket),
so it belongs to none of them.
"""
