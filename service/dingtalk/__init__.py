"""The DingTalk adapter: a robot's HTTP callback at ``/dingtalk/events``, answers through the OpenAPI SDK."""
