"""Local fakes of the chat platforms, spoken to over real HTTP/WebSocket on 127.0.0.1.

Nothing here patches an SDK: the bot's real clients talk to these servers through their ordinary
base-URL settings (``SLACK_API_URL``), so a test checks what actually goes over the wire.
"""
