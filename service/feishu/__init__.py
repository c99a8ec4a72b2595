"""The Feishu / Lark adapter: lark-oapi's event dispatcher and API client, mounted at ``/feishu/events``."""
