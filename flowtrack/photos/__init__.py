"""Photos of devices: upload, thumbnails, removal."""
