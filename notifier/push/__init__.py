"""Web Push: endpoint allow-list, VAPID, the payload, encryption and the HTTP client, fan-out to devices."""
