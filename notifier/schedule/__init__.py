"""The reminder outbox: filled ahead from the plan, sent on time, missed ones reported."""
