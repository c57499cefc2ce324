"""Running the app: granian's embedded servers (loopback and LAN HTTPS), the console, the instance lock, logs."""
