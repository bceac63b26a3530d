"""warcwatch's record side: WARC writing, the capture catalog, retrieval and export."""
