"""This computer: its names and addresses on the LAN, the local CA and certificates, bundled files."""
