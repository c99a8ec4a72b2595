"""The Slack adapter: slack-bolt's async app mounted on the FastAPI service at ``/slack/events``."""
