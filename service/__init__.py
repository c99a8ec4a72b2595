"""Everything a user touches: the CLI, exports, the HTTP service and the Slack bot."""
