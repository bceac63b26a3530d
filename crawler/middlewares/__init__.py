"""Downloader middlewares, one per module, wired in crawler.settings."""
