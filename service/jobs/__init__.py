"""The platform-neutral job service: durable dataset jobs, progress streams and on-demand samples."""
