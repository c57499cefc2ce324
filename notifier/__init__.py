"""Study Notifier: a self-hosted study reminder that sends Web Push to your phone."""

__version__ = "0.1.0"
