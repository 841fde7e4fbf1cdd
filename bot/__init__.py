"""socialmedia-check: a team-chat bot for deciding what to do with social media."""

__version__ = "0.1.0"
