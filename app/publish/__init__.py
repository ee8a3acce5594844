"""Publishing: rendering and storing what a poll changed, serving stored documents to workers, uploading to object storage."""
