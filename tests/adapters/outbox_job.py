"""A background job in its own process: posts to a channel through the outbox, with no request.

    python -m tests.adapters.outbox_job PLATFORM API_URL REDIS_URL PREFIX CHANNEL_KEY TEXT [SESSION_ID]

Sends ``TEXT`` to the channel and, with a session id, ``TEXT (thread)`` into that check's thread
(its header ref is read from Redis, written there by another process). Exits non-zero when not
everything went out.
"""

from __future__ import annotations

import sys

from bot.adapters.console_out import ConsoleOutbound, MemoryRefs
from bot.adapters.outbox import Outbox
from bot.core.messages import Audience, ChannelKey, Message, Notice
from bot.ports import OutboundPort, RefStore
from bot.store.store import Store

SLACK_TOKEN = "xoxb-test-token"
MATTERMOST_TOKEN = "bot-token"
SECRET = "test-secret-for-the-outbox-job-0123"


def port_for(platform: str, api_url: str) -> OutboundPort:
    if platform == "slack":
        from bot.adapters.slack.outbound import SlackOutbound, web_client

        return SlackOutbound(web_client(SLACK_TOKEN, api_url))
    if platform == "mattermost":
        from bot.adapters.mattermost.api import MattermostApi
        from bot.adapters.mattermost.outbound import MattermostOutbound
        from bot.adapters.mattermost.signing import ContextSigner

        api = MattermostApi(api_url, MATTERMOST_TOKEN)
        return MattermostOutbound(api, "http://127.0.0.1:9/mattermost/actions", ContextSigner(SECRET))
    return ConsoleOutbound(lambda text: print(text, flush=True), lambda: "(only you)")


def main(argv: list[str]) -> int:
    platform, api_url, redis_url, prefix, key, text = argv[:6]
    session = argv[6] if len(argv) > 6 else None
    refs: RefStore = Store.from_url(redis_url, prefix=prefix) if redis_url else MemoryRefs()
    outbox = Outbox(port_for(platform, api_url), refs, workers=2)
    messages: list[Message] = [Notice(text, Audience.CHANNEL)]
    if session:
        messages.append(Notice(f"{text} (thread)", Audience.THREAD, session_id=session))
    outbox.send(ChannelKey.parse(key), messages)
    done = outbox.wait_idle(30)
    outbox.close()
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
