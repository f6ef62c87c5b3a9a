"""sanctionwatch: news-feed monitoring for sanctions and arms-transfer compliance."""

__version__ = "0.1.0"
