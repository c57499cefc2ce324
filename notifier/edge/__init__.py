"""What every request passes before a route runs: Host and forwarded headers, the cross-site rule, idempotency."""
