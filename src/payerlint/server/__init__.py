"""`payerlint serve`: the HTTP service and the web workbench (optional extra `server`:
FastAPI and uvicorn). `app.py` holds the routes, `middleware.py` the access log, token
and body limit, `views.py` what a rulebook looks like as JSON, `openapi.py` the OpenAPI
document built from the shipped JSON Schemas, `static/` the workbench (no build step)."""
