"""Test peers: real or stub services the app talks to in tests, all on 127.0.0.1."""
