"""The channels, by the word a targets file names them with: a new channel is one row here."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.fetch.poster import Poster
from app.notify.channel import Channel
from app.notify.mail import Mail
from app.notify.slack import Slack
from app.notify.targets import ChannelKind
from app.notify.teams import Teams
from app.notify.webhook import SignedWebhook

# each builds its channel from the process's notification client (made only when first used)
CHANNELS: Mapping[ChannelKind, Callable[[Poster], Channel]] = {
    ChannelKind.TEAMS: Teams,
    ChannelKind.SLACK: Slack,
    ChannelKind.WEBHOOK: SignedWebhook,
    ChannelKind.EMAIL: Mail,
}
