"""Calendars: reading .ics files into blocks, writing blocks as the calendar feed."""
