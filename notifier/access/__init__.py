"""Who may do what: device tokens, pairing codes and login links, notification action tokens, failure limits."""
