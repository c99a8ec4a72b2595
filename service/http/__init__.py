"""The HTTP service: FastAPI app, dependencies, schemas, errors, middleware, metrics and routers."""
